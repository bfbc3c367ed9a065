"""FAB-T (Croce and Hein 2020): its projection onto a hyperplane within the box against SciPy's
solvers (a linear programme for L-infinity, a quadratic one for L2), and the attack against the
closed form on linear models, where the linearisation is exact and the nearest boundary point is
known: |margin| / ||w||_dual."""

import keras
import numpy as np
import pytest
import scipy.optimize
import tensorflow as tf

from pipeline.attacks import FAB
from pipeline.attacks.fab_projection import project
from tests.attacks.helpers import predictions

D = 12


def problems(seed: int, count: int = 20, low: float = 0.0, high: float = 1.0):
    """Random points t in the box and hyperplanes w.z = b that the box reaches (b between the
    smallest and largest w.z over the box)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        t = rng.uniform(low, high, D)
        w = rng.normal(size=D) * (rng.uniform(size=D) > 0.2)  # some coordinates do not count
        lowest, highest = np.sum(np.minimum(w * low, w * high)), np.sum(np.maximum(w * low, w * high))
        yield t, w, rng.uniform(lowest, highest)


def ours(t, w, b, norm, low=0.0, high=1.0) -> np.ndarray:
    return np.asarray(
        project(
            tf.constant([t], tf.float32), tf.constant([w], tf.float32), tf.constant([b], tf.float32), norm, low, high
        )
    )[0]


def linf_optimum(t, w, b, low=0.0, high=1.0) -> float:
    """min lambda s.t. |d_i| <= lambda, w.(t + d) = b, low <= t + d <= high: variables (d, lambda)."""
    eye = np.eye(D)
    upper = np.block([[eye, -np.ones((D, 1))], [-eye, -np.ones((D, 1))]])
    bounds = [(low - ti, high - ti) for ti in t] + [(0, None)]
    done = scipy.optimize.linprog(
        np.r_[np.zeros(D), 1.0], A_ub=upper, b_ub=np.zeros(2 * D), A_eq=[np.r_[w, 0.0]], b_eq=[b - w @ t], bounds=bounds
    )
    assert done.status == 0, done.message
    return float(done.x[-1])


def l2_optimum(t, w, b, low=0.0, high=1.0) -> np.ndarray:
    done = scipy.optimize.minimize(
        lambda d: d @ d,
        np.zeros(D),
        jac=lambda d: 2 * d,
        constraints=[{"type": "eq", "fun": lambda d: w @ (t + d) - b, "jac": lambda d: w}],
        bounds=[(low - ti, high - ti) for ti in t],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert done.success, done.message
    return done.x


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-1.0, 2.0)])
def test_linf_projection_is_the_linear_programmes_optimum(low, high):
    for t, w, b in problems(0, low=low, high=high):
        d = ours(t, w, b, "inf", low, high)
        np.testing.assert_allclose(w @ (t + d), b, atol=1e-4)
        assert np.all(t + d >= low - 1e-6) and np.all(t + d <= high + 1e-6)
        assert np.abs(d).max() == pytest.approx(linf_optimum(t, w, b, low, high), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-1.0, 2.0)])
def test_l2_projection_is_the_quadratic_programmes_solution(low, high):
    for t, w, b in problems(1, low=low, high=high):
        np.testing.assert_allclose(ours(t, w, b, "2", low, high), l2_optimum(t, w, b, low, high), atol=2e-4)


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_out_of_reach_planes_get_every_coordinate_to_its_bound_and_planes_through_t_no_step(norm):
    t, w = np.full(D, 0.5), np.linspace(-1, 1, D)
    d = ours(t, w, np.sum(np.minimum(w * 0, w)) - 5.0, norm)  # below the smallest w.z the box allows
    np.testing.assert_allclose(t + d, np.where(w > 0, 0.0, np.where(w < 0, 1.0, 0.5)), atol=1e-6)
    np.testing.assert_allclose(ours(t, w, w @ t, norm), 0.0, atol=1e-6)


def linear_model(seed: int, classes: int = 3, shape=(4, 4, 1)) -> keras.Model:
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(classes)])
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(int(np.prod(shape)), classes)) * 0.3
    model.set_weights([kernel, -0.5 * kernel.sum(0) + rng.normal(size=classes) * 0.05])  # boundaries near the middle
    return model


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_on_a_linear_model_fab_t_reaches_the_nearest_boundary_point(norm):
    """Two classes, points in the middle of the box (0.5 +- 0.05): the closest point of class 1 lies
    |z_0 - z_1| / ||w_0 - w_1||_dual away (dual of L-inf: L1), inside the box. FAB-T breaks every
    example with a budget 3% above that distance and none with one 3% below."""
    model = linear_model(2, classes=2)
    x = np.random.default_rng(3).uniform(0.45, 0.55, (16, 4, 4, 1)).astype(np.float32)
    y = predictions(model, x)
    kernel, bias = model.get_weights()
    w = kernel[:, 1 - y] - kernel[:, y]  # (16 examples): column per example
    margin = np.abs(x.reshape(16, -1) @ kernel @ np.array([1, -1]) + bias @ np.array([1, -1]))
    distance = margin / np.linalg.norm(w.T, ord=1 if norm == "inf" else 2, axis=1)
    assert distance.max() < 0.4  # the nearest point is well inside the box
    far = np.asarray(FAB(model, eps=1.03 * distance, norm=norm, target_classes=1)(x, y))
    near = np.asarray(FAB(model, eps=0.97 * distance, norm=norm, target_classes=1)(x, y))
    assert np.all(predictions(model, far) != y) and np.all(predictions(model, near) == y)
    sizes = (
        np.abs(far - x).reshape(16, -1).max(1) if norm == "inf" else np.linalg.norm((far - x).reshape(16, -1), axis=1)
    )
    assert np.all(sizes <= 1.03 * distance + 1e-6)


def test_fab_t_on_lenet_keeps_to_the_ball_and_the_range_and_breaks_examples(trained):
    model, x, y = trained
    attack = FAB(model, eps=0.1, steps=20, target_classes=3)
    x_adv = np.asarray(attack(x[:48], y[:48]))
    assert np.abs(x_adv - x[:48]).max() <= 0.1 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    broken = predictions(model, x_adv) != y[:48]
    assert broken.mean() > 0.3
    np.testing.assert_array_equal(x_adv[~broken], x[:48][~broken])  # a point beyond the budget is not returned


def test_fab_refuses_bad_settings(trained):
    with pytest.raises(ValueError, match="FAB needs steps, restarts and target_classes >= 1"):
        FAB(trained[0], steps=0)
