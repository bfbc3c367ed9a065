"""Attacks against independent references: closed-form gradients of a linear softmax model, the
eps-ball and data range, clean accuracy at eps 0, targets reached, the minimal budget's bracket,
DeepFool's smaller perturbations, mixed precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline.attacks import BIM, FGSM, PGD, DeepFool, GradientStep, MinimalPerturbation, accuracy, robust_accuracy
from pipeline.models import build_model
from tests.attacks.helpers import predictions


def _linear_case(impl: str):
    """A linear softmax model and the NumPy gradient of its cross-entropy: W (softmax(z) - onehot)."""
    keras.utils.set_random_seed(1)
    model = build_model("linear", (5, 4, 2), 3, impl=impl)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.8, size=(6, 5, 4, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=6)
    kernel, bias = (w.numpy().astype(np.float64) for w in model.get_layer("logits").weights)
    z = x.reshape(6, -1) @ kernel + bias
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    grad = ((p - np.eye(3)[y]) @ kernel.T).reshape(x.shape)
    return model, x, y, grad


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_fgsm_and_gradient_step_equal_their_formulas(impl):
    model, x, y, grad = _linear_case(impl)
    np.testing.assert_allclose(FGSM(model, eps=0.1)(x, y), np.clip(x + 0.1 * np.sign(grad), 0, 1), atol=1e-6)
    np.testing.assert_allclose(GradientStep(model, step_size=0.5)(x, y), np.clip(x + 0.5 * grad, 0, 1), atol=1e-5)
    # Targeted: down the target's loss; per-example budgets broadcast.
    eps = np.linspace(0.0, 0.3, 6)
    expected = np.clip(x - eps[:, None, None, None] * np.sign(grad), 0, 1)
    np.testing.assert_allclose(FGSM(model, eps=eps, targeted=True)(x, y), expected, atol=1e-6)


@pytest.mark.parametrize("norm, eps", [("inf", 0.05), ("2", 0.5)])
def test_pgd_stays_in_the_ball_and_the_range(trained, norm, eps):
    model, x, y = trained
    x_adv = PGD(model, eps=eps, steps=8, norm=norm, seed=0)(x, y).numpy()
    delta = (x_adv - x).reshape(len(x), -1)
    size = np.abs(delta).max(axis=1) if norm == "inf" else np.linalg.norm(delta, axis=1)
    assert size.max() <= eps + 1e-5 and size.max() > 0.9 * eps
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert accuracy(model, x_adv, y) < accuracy(model, x, y)


def test_bim_is_pgd_from_the_image(trained):
    model, x, y = trained
    np.testing.assert_allclose(
        BIM(model, eps=0.05, steps=5)(x, y), PGD(model, eps=0.05, steps=5, random_start=False)(x, y)
    )


@pytest.mark.parametrize("attack", [FGSM, PGD], ids=["fgsm", "pgd"])
def test_robust_accuracy_starts_at_clean_and_does_not_rise(trained, attack):
    model, x, y = trained
    curve = robust_accuracy(model, attack, x, y, [0.0, 0.02, 0.05, 0.1, 0.2], batch_size=40)
    assert curve[0.0] == accuracy(model, x, y) == np.mean(predictions(model, x) == y)
    values = list(curve.values())
    assert all(b <= a for a, b in zip(values, values[1:])), curve
    assert values[-1] < 0.2


def test_targeted_pgd_reaches_its_targets(trained):
    model, x, y = trained
    targets = (y + 3) % 10
    x_adv = PGD(model, eps=0.5, steps=30, targeted=True, seed=0)(x, targets)
    assert np.mean(predictions(model, x_adv) == targets) >= 0.9


def test_minimal_perturbation_brackets_the_flip(trained):
    model, x, y = trained
    x, y = x[:32], y[:32]
    result = MinimalPerturbation(model, max_eps=0.5, tolerance=2e-3).search(x, y)
    correct = predictions(model, x) == y
    found = correct & np.isfinite(result.budget)
    assert found.sum() >= 0.8 * correct.sum()
    assert np.all(result.budget[found] - result.below[found] <= 2e-3)
    # Checked with fresh attacks: at the budget the prediction flips, slightly below it does not.
    at = PGD(model, eps=result.budget[found], steps=10, random_start=False)(x[found], y[found])
    below = PGD(model, eps=result.below[found], steps=10, random_start=False)(x[found], y[found])
    assert np.all(predictions(model, at) != y[found])
    assert np.all(predictions(model, below) == y[found])
    np.testing.assert_allclose(predictions(model, result.x_adv[found]), predictions(model, at))
    assert np.all(np.abs(result.x_adv[found] - x[found]).max(axis=(1, 2, 3)) <= result.budget[found] + 1e-5)


def test_deepfool_is_smaller_than_fgsm(trained):
    model, x, y = trained
    correct = predictions(model, x) == y
    fool = DeepFool(model, steps=50)(x, y).numpy()
    fooled = correct & (predictions(model, fool) != predictions(model, x))
    assert fooled.sum() >= 0.9 * correct.sum()
    fgsm = FGSM(model, eps=0.15)(x, y).numpy()
    flipped = correct & (predictions(model, fgsm) != y)
    l2 = lambda a: np.linalg.norm((a - x).reshape(len(x), -1), axis=1)
    assert np.median(l2(fool)[fooled]) < 0.5 * np.median(l2(fgsm)[flipped])


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_attacks_work_in_mixed_float16(impl):
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 1), 10, impl=impl)
    x = np.random.default_rng(0).uniform(size=(8, 32, 32, 1)).astype(np.float32)
    y = predictions(model, x)
    for attack in (
        FGSM(model, eps=0.1),
        PGD(model, eps=0.1, steps=3, norm="2"),
        BIM(model, eps=0.1, steps=3),
        DeepFool(model, steps=3),
        GradientStep(model, step_size=0.1),
    ):
        x_adv = np.asarray(attack(x, y))
        assert x_adv.dtype == np.float32 and np.all(np.isfinite(x_adv)) and x_adv.min() >= 0 and x_adv.max() <= 1
    assert np.abs(np.asarray(FGSM(model, eps=0.1)(x, y)) - x).max() == pytest.approx(0.1, abs=1e-6)
    assert np.isfinite(MinimalPerturbation(model, max_eps=0.3, tolerance=0.05).search(x, y).budget).any()


def test_bad_arguments_say_what_was_received():
    model = build_model("linear", (4, 4, 1), 2)
    with pytest.raises(ValueError, match=r"Expected one of \['inf', '2'\]. Received: norm='1'"):
        PGD(model, norm="1")
    with pytest.raises(ValueError, match="Received: steps=0"):
        PGD(model, steps=0)
    with pytest.raises(ValueError, match=r"Received: clip=\(1.0, 0.0\)"):
        FGSM(model, clip=(1.0, 0.0))
    with pytest.raises(ValueError, match="DeepFool is untargeted.*Received: targeted=True"):
        DeepFool(model, targeted=True)
    with pytest.raises(ValueError, match="DeepFool has no budget to sweep"):
        robust_accuracy(model, DeepFool, np.zeros((2, 4, 4, 1)), [0, 1], [0.1])
    with pytest.raises(ValueError, match="Expected an attack with a budget. Received: attack=DeepFool"):
        MinimalPerturbation(model, attack=DeepFool)


def test_seeds_reproduce_the_random_start_and_each_call_draws_anew():
    model, x, y, _ = _linear_case("custom")
    first, second = (
        PGD(model, eps=0.1, step_size=1e-4, steps=1, seed=3),
        PGD(model, eps=0.1, step_size=1e-4, steps=1, seed=3),
    )
    a, b = first(x, y).numpy(), first(x, y).numpy()
    assert not np.allclose(a, b)  # a second call starts elsewhere
    np.testing.assert_array_equal(second(x, y).numpy(), a)  # the same seed, the same sequence
    seed = tf.constant([5, 7], tf.int64)
    np.testing.assert_array_equal(first(x, y, seed=seed).numpy(), second(x, y, seed=seed).numpy())


def test_robust_accuracy_sweeps_each_attacks_own_budget():
    """GradientStep's budget is its step size: the curve at 0.5 is the accuracy on x + 0.5 dL/dx."""
    model, x, y, grad = _linear_case("custom")
    curve = robust_accuracy(model, GradientStep, x, y, [0.0, 0.5])
    assert curve[0.0] == accuracy(model, x, y)
    assert curve[0.5] == accuracy(model, np.clip(x + 0.5 * grad, 0, 1).astype(np.float32), y)


def test_adversarial_training_attacks_are_made_by_name():
    from pipeline.attacks import TRAINING_ATTACKS, make_attack

    model = build_model("linear", (4, 4, 1), 2)
    assert sorted(TRAINING_ATTACKS) == ["bim", "fgsm", "pgd"]
    pgd = make_attack("pgd", model, eps=0.2, steps=3, seed=1)
    assert isinstance(pgd, PGD) and (pgd.eps, pgd.steps) == (0.2, 3)
    fgsm = make_attack("fgsm", model, eps=0.2, steps=3, seed=1)  # FGSM takes no steps: left out
    assert type(fgsm) is FGSM and fgsm.eps == 0.2


def test_xla_compiled_attack_gives_the_same_images():
    model, x, y, _ = _linear_case("custom")
    plain = PGD(model, eps=0.1, steps=4, random_start=False)(x, y)
    np.testing.assert_allclose(
        PGD(model, eps=0.1, steps=4, random_start=False, jit_compile=True)(x, y), plain, atol=1e-6
    )
