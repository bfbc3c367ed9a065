"""Square (Andriushchenko et al. 2020): its square-size schedule, the budget of queries, the ball
and the data range, and the reason it exists: a model whose gradients are masked fools PGD, not
Square."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline.attacks import PGD
from pipeline.attacks.square import Square, margin, square_share
from pipeline.attacks.square_l2 import block, bump
from tests.attacks.helpers import predictions


def authors_p_selection(it: int, p_init: float, n_queries: int, rescale: bool) -> float:
    """The authors' `SquareAttack.p_selection` (pyautoattack 0.2.0), written out as their code reads."""
    if rescale:
        it = int(it / n_queries * 10000)
    for bound, halvings in ((10, 0), (50, 1), (200, 2), (500, 3), (1000, 4), (2000, 5), (4000, 6), (6000, 7)):
        if it <= bound:
            return p_init / 2**halvings
    return p_init / (256 if it <= 8000 else 512)


@pytest.mark.parametrize("queries, rescale", [(10000, True), (5000, True), (5000, False), (1000, True), (300, False)])
def test_the_square_share_is_the_authors_schedule(queries, rescale):
    proposals = np.arange(queries)
    ours = np.asarray(square_share(proposals, queries, 0.8, rescale))
    theirs = [authors_p_selection(int(i), 0.8, queries, rescale) for i in proposals]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_p_init_defaults_to_the_authors_and_is_checked(trained):
    assert Square(trained[0], 0.1).p_init == 0.8 and float(square_share(0, 1000)) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="p_init"):
        Square(trained[0], 0.1, p_init=0.0)


def test_segments_end_where_the_square_halves_and_every_hundred_queries(trained):
    spans = Square(trained[0], queries=1000).spans()
    # Rescaled to 1,000 queries the square halves after proposals 1, 5, 20, 50, 100, ... (queries 2, 6, 21, ...);
    # a point right after another (2 after 1, 101 after 100) would make a one-query segment.
    assert spans == [1, 6, 21, 51, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    assert Square(trained[0], queries=5000, rescale=False).spans()[:8] == [1, 11, 51, 100, 200, 300, 400, 500]
    assert Square(trained[0], queries=1).spans() == [1]


def test_margin_on_hand_made_logits():
    logits = tf.constant([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0]])
    np.testing.assert_allclose(margin(logits, tf.constant([0, 0])), [1.0, -5.0])


class Counting(keras.Model):
    """The model, counting its forward passes (one per query of every example still attacked)."""

    def __init__(self, model):
        super().__init__()
        self.inner, self.calls = model, tf.Variable(0, trainable=False)

    def call(self, x, training=False):
        self.calls.assign_add(1)
        return self.inner(x, training=training)


@pytest.mark.parametrize("norm, eps", [("inf", 0.3), ("2", 3.0)])
def test_square_keeps_to_its_queries_the_ball_and_the_range(trained, norm, eps):
    model, x, y = trained
    counting = Counting(model)
    x_adv = Square(counting, eps=eps, norm=norm, queries=300, seed=0)(x, y).numpy()
    assert 0 < int(counting.calls.numpy()) <= 300
    size = (
        np.abs(x_adv - x).reshape(len(x), -1).max(1)
        if norm == "inf"
        else np.linalg.norm((x_adv - x).reshape(len(x), -1), axis=1)
    )
    assert size.max() <= eps * (1 + 1e-5) and x_adv.min() >= 0 and x_adv.max() <= 1
    clean = np.mean(predictions(model, x) == y)
    assert np.mean(predictions(model, x_adv) == y) < clean - 0.15  # it breaks many at MNIST-like budgets


def test_the_l2_blocks_are_the_papers_pseudo_gaussians():
    """The reference construction by hand: concentric squares of weight 1/(k + 1)^2 around the centre."""
    np.testing.assert_allclose(
        np.asarray(bump(3, 3)) / float(bump(3, 3)[0, 0]), [[1, 1, 1], [1, 5, 1], [1, 1, 1]], rtol=1e-6
    )
    ring, centre = [4, 13, 13, 13, 4], [4, 13, 49, 13, 4]  # x 1/36: 1/9; 1/9 + 1/4; 1/9 + 1/4 + 1
    upper, lower = np.array([ring, centre]) / 36, np.array([ring, centre, ring]) / 36  # centres (1, 2)
    expected = np.concatenate([upper / np.linalg.norm(upper), -lower / np.linalg.norm(lower)]) / np.sqrt(2)
    np.testing.assert_allclose(np.asarray(block(5)), expected, atol=1e-6)


class Quantised(keras.layers.Layer):
    """Rounds the input to 4 levels with no gradient: the textbook gradient masking."""

    def call(self, x):
        return tf.stop_gradient(tf.round(x * 3) / 3)


@pytest.mark.slow
def test_square_breaks_a_masked_model_that_pgd_cannot(trained):
    model, x, y = trained
    masked = keras.Sequential([keras.Input(x.shape[1:]), Quantised(), model])
    clean = np.mean(predictions(masked, x) == y)
    pgd = np.mean(predictions(masked, PGD(masked, eps=0.3, steps=10, random_start=False)(x, y)) == y)
    square = np.mean(predictions(masked, Square(masked, eps=0.3, queries=500, seed=0)(x, y)) == y)
    assert pgd == clean  # the gradient is zero everywhere: PGD does not move
    assert square < pgd - 0.2, (clean, pgd, square)
    square_l2 = np.mean(predictions(masked, Square(masked, eps=3.0, norm="2", queries=500, seed=0)(x, y)) == y)
    assert square_l2 < pgd - 0.2, (clean, pgd, square_l2)
