"""The AutoAttack ensemble: the per-example worst case of its members, randomness that follows the
example and not its batch, counts that add up, the Wilson interval, and the sanity checks firing on
a gradient-masked model while a normal one passes them."""

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from pipeline.attacks import APGD, AutoAttack, randomness
from pipeline.attacks.sanity import black_box, deterministic, eps_rise, run_checks, unbounded
from pipeline.registry import UnknownNameError
from tests.attacks.helpers import predictions

EPS = 0.1
SMALL = {"apgd-ce": {"steps": 10}, "apgd-t": {"steps": 10, "target_classes": 2}, "square": {"queries": 100}}


@pytest.fixture(scope="module")
def evaluated(trained):
    model, x, y = trained
    attack = AutoAttack(model, EPS, version="fast", settings=SMALL, batch_size=32)
    return attack, attack.evaluate(x, y)


def test_uniform_and_normal_draws_follow_their_distributions():
    keys = randomness.batch_keys(tf.constant([7, 11], tf.int64), 4)
    u = np.asarray(randomness.uniform(keys, [50, 50], counter=3)).ravel()
    z = np.asarray(randomness.normal(keys, [50, 50], counter=3)).ravel()
    assert scipy.stats.kstest(u, "uniform").pvalue > 1e-3 and u.min() >= 0 and u.max() < 1
    assert scipy.stats.kstest(z, "norm").pvalue > 1e-3
    rows = np.asarray(randomness.uniform(keys, [100])).reshape(4, 100)
    assert abs(np.corrcoef(rows)[np.triu_indices(4, 1)]).max() < 0.35  # examples draw independent streams


def test_content_keys_follow_the_pixels_not_the_position(trained):
    _, x, _ = trained
    keys = randomness.content_keys(0, x[:8])
    assert np.array_equal(randomness.content_keys(0, x[[3, 1]]), keys[[3, 1]])
    assert len(set(keys.tolist())) == 8 and not np.array_equal(randomness.content_keys(1, x[:8]), keys)


def test_an_example_ends_the_same_in_any_batch(trained, evaluated):
    model, x, y = trained
    attack, whole = evaluated
    part = attack.evaluate(x[40:70][::-1], y[40:70][::-1])
    assert np.array_equal(part.robust[::-1], whole.robust[40:70])
    np.testing.assert_allclose(part.x_adv[::-1], whole.x_adv[40:70], atol=1e-5)


def test_the_ensemble_is_never_weaker_than_any_member_on_the_same_examples(trained, evaluated):
    model, x, y = trained
    attack, result = evaluated
    for name, member in attack.attacks.items():
        alone = np.asarray(member(x, y, keys=attack.member_keys(x, name)))
        standing = predictions(model, alone) == y
        assert not np.any(result.robust & ~standing), name  # every example a member breaks, the ensemble breaks


def test_counts_add_up_and_the_examples_stay_in_the_ball(trained, evaluated):
    model, x, y = trained
    _, result = evaluated
    assert result.clean.sum() - result.robust.sum() == sum(result.broken_by.values())
    assert list(result.broken_by) == ["apgd-ce", "apgd-t", "square"]
    np.testing.assert_array_equal(result.robust, (predictions(model, result.x_adv) == y) & result.clean)
    assert np.abs(result.x_adv - x).max() <= EPS + 1e-6 and result.x_adv.min() >= 0 and result.x_adv.max() <= 1
    metrics = result.metrics()
    assert metrics["autoattack_examples"] == len(x) and metrics["autoattack_broken_by_apgd_ce"] > 0


def test_the_interval_is_wilsons(evaluated):
    _, result = evaluated
    n, p, z = len(result.robust), result.robust_accuracy, scipy.stats.norm.ppf(0.975)
    centre, half = (
        (p + z**2 / (2 * n)) / (1 + z**2 / n),
        z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)),
    )
    np.testing.assert_allclose(result.interval(), (centre - half, centre + half), atol=1e-9)


def test_unknown_versions_are_named_and_three_classes_fall_back_to_ce(trained):
    model, _, _ = trained
    with pytest.raises(UnknownNameError, match="unknown adversarial.autoattack.version 'full'; known: standard, fast"):
        AutoAttack(model, EPS, version="full")
    small = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    attack = AutoAttack(small, EPS, version="fast")
    assert attack.attacks["apgd-t"].loss_name == "ce" and attack.attacks["apgd-ce"].loss_name == "ce"
    assert list(AutoAttack(small, EPS, norm="2").attacks) == ["apgd-ce", "apgd-t", "fab-t", "square"]


def masked(model: keras.Model) -> keras.Model:
    """`model` behind a quantiser that passes no gradient: gradient attacks see a flat loss."""
    inputs = keras.Input(model.input_shape[1:])
    quantised = keras.layers.Lambda(lambda v: tf.stop_gradient(tf.round(v * 8) / 8))(inputs)
    return keras.Model(inputs, model(quantised))


@pytest.mark.slow
def test_the_sanity_checks_fire_on_a_masked_model_and_pass_on_a_normal_one(trained):
    model, x, y = trained
    x, y = x[:48], y[:48]
    outcome = {}
    for name, net in (("normal", model), ("masked", masked(model))):
        keep = predictions(net, x) == y
        attack = AutoAttack(net, EPS, version="fast", settings={"apgd-ce": {"steps": 10}, "square": {"queries": 300}})
        result = attack.evaluate(x[keep], y[keep])
        checks = run_checks(attack, x[keep], y[keep], result, {0.0: 1.0, 0.1: 0.5}, {})
        outcome[name] = {check.name: check.passed for check in checks}
    assert all(outcome["normal"].values()), outcome
    assert not outcome["masked"]["black_box"] and not outcome["masked"]["unbounded"], outcome


def test_single_checks_on_hand_made_cases(trained):
    model, x, y = trained
    assert eps_rise({0.0: 0.9, 0.1: 0.5, 0.2: 0.6}, 0.02).value == pytest.approx(0.1)
    assert eps_rise({0.0: 0.9, 0.1: 0.5}, 0.02).passed
    noisy = keras.Sequential(
        [keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.5), keras.layers.Dense(10)]
    )
    assert deterministic(model, x[:8], 1e-5).passed
    assert deterministic(noisy, x[:8], 1e-5).passed  # dropout is off in inference mode
    apgd = APGD(model, EPS, steps=5)
    assert unbounded(apgd, x[:16], y[:16], 0.01).value == 0.0 and apgd.eps == EPS
    assert not black_box(evaluated_like(16, square=4), 0.02).passed


def evaluated_like(clean: int, square: int):
    from pipeline.attacks.autoattack import AutoAttackResult

    robust = np.zeros(clean, bool)
    return AutoAttackResult(
        np.zeros((clean, 1)), np.ones(clean, bool), robust, {"apgd-ce": clean - square, "square": square}
    )


@pytest.mark.slow
def test_the_standard_version_at_its_defaults(trained):
    """The published cascade as users run it: every member at the authors' settings."""
    model, x, y = trained
    x, y = x[:64], y[:64]
    result = AutoAttack(model, EPS).evaluate(x, y)
    assert list(result.broken_by) == list(result.seconds) == ["apgd-ce", "apgd-t", "fab-t", "square"]
    assert result.clean.sum() - result.robust.sum() == sum(result.broken_by.values()) > 0
    np.testing.assert_array_equal(result.robust, (predictions(model, result.x_adv) == y) & result.clean)
    assert np.abs(result.x_adv - x).max() <= EPS + 1e-6 and result.x_adv.min() >= 0 and result.x_adv.max() <= 1
