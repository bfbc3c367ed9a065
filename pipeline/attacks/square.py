"""Square (Andriushchenko, Croce, Flammarion and Hein, "Square Attack: a query-efficient black-box
adversarial attack via random search", ECCV 2020), in L-infinity and L2: it never reads a
gradient, so a model whose gradients are masked (saturated, quantised, non-differentiable) does
not fool it.

In L-infinity, from vertical stripes of +-eps, each query redraws one random square of the perturbation (a new
+-eps per channel) and keeps it when the margin z_y - max_{j != y} z_j falls. The square's side
shrinks on the paper's schedule: a share p of the image's pixels, p halved after 10, 50, 200, 500,
1,000, 2,000, 4,000, 6,000 and 8,000 of 10,000 queries (the same fractions of another budget).
An example stops querying once it is misclassified; `queries` counts every forward pass an
example takes, the first one (the stripes) included. L2 proposes differently (`square_l2`) on the
same schedule, its window an odd side of at least 3 pixels.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.attacks import randomness, square_l2
from pipeline.attacks.base import Attack

P_INIT = 0.05  # the paper's initial share of pixels per square in L-infinity (ImageNet; AutoAttack uses 0.8)
HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)  # of 10,000 queries
SEGMENT = 100  # queries per compiled call (the fooled examples leave the batch between calls)


def square_share(query: tf.Tensor, queries: int, p_init: float = P_INIT) -> tf.Tensor:
    """p at this query: p_init halved once for each point of the schedule the query has passed."""
    scaled = tf.cast(query, tf.float32) * 10000.0 / queries
    passed = tf.reduce_sum(tf.cast(scaled > tf.constant(HALVINGS, tf.float32), tf.float32))
    return p_init / 2.0**passed


def margin(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """z_y - max_{j != y} z_j: negative once the example is misclassified."""
    z_y = tf.gather(logits, y, axis=1, batch_dims=1)
    others = tf.where(tf.one_hot(y, tf.shape(logits)[1]) > 0, -np.inf, logits)
    return z_y - tf.reduce_max(others, axis=1)


class Square(Attack):
    """Square attack within the `norm` ("inf" or "2") ball of radius `eps`, at most `queries`
    forward passes per example (L2's proposals: `square_l2`)."""

    in_graph = False  # between segments of queries, only the examples still standing go on

    def __init__(
        self,
        model: keras.Model,
        eps: float = 8 / 255,
        norm: str = "inf",
        queries: int = 5000,
        seed=None,
        p_init: float = P_INIT,
        **kw,
    ):
        super().__init__(model, seed=seed, **kw)
        if str(norm) not in ("inf", "2"):
            raise ValueError(f"Invalid value for argument `norm`. Expected 'inf' or '2'. Received: norm={norm!r}")
        if queries < 1:
            raise ValueError(f"Invalid value for argument `queries`. Expected >= 1. Received: queries={queries}")
        if not 0 < p_init <= 1:
            raise ValueError(f"Invalid value for argument `p_init`. Expected (0, 1]. Received: p_init={p_init}")
        self.eps, self.norm, self.queries, self.p_init = eps, str(norm), int(queries), float(p_init)

    def budget(self, x: tf.Tensor) -> tuple:
        return (self.per_example(self.eps, x),)

    def __call__(self, x, y, seed=None, keys=None) -> tf.Tensor:
        """The adversarial batch. Queries run `SEGMENT` at a time in the compiled graph; between
        segments the examples already fooled leave the batch, so late queries cost only what is
        still standing."""
        x, y = tf.cast(tf.convert_to_tensor(x), tf.float32), tf.cast(tf.convert_to_tensor(y), tf.int32)
        (eps,), keys = self.budget(x), self.keys(x, seed, keys)
        best = self.clip_to_range(self._start(x, keys, eps))
        best_margin = margin(self.logits(best), y)
        for first in range(1, self.queries, SEGMENT):
            left = tf.where(best_margin >= 0)[:, 0]
            if tf.size(left) == 0:
                break
            rows = [tf.gather(t, left) for t in (x, y, keys, eps, best, best_margin)]
            last = tf.constant(min(first + SEGMENT, self.queries))
            found, found_margin = self._compiled(*rows, tf.constant(first), last)
            best = tf.tensor_scatter_nd_update(best, left[:, None], found)
            best_margin = tf.tensor_scatter_nd_update(best_margin, left[:, None], found_margin)
        return best

    def perturb(self, x, y, keys, eps, best, best_margin, first, last) -> tuple[tf.Tensor, tf.Tensor]:
        """Queries first ... last - 1 from `best`: (the best images, their margins)."""
        height, width = tf.shape(x)[1], tf.shape(x)[2]
        for query in tf.range(first, last):
            active = best_margin >= 0  # not fooled yet: these examples query again
            if not tf.reduce_any(active):
                break
            area = square_share(query, self.queries, self.p_init) * tf.cast(height * width, tf.float32)
            candidate = self.clip_to_range(self._propose(x, best, keys, eps, query, self._side(area, height, width)))
            candidate_margin = margin(self.logits(candidate), y)
            better = active & (candidate_margin < best_margin)
            best = tf.where(better[:, None, None, None], candidate, best)
            best_margin = tf.where(better, candidate_margin, best_margin)
        return best, best_margin

    def _side(self, area: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
        """The window's side for a share of the image's area: at least 1 pixel in L-inf; in L2 an
        odd side of at least 3 (the block needs a centre)."""
        side = tf.cast(tf.round(tf.sqrt(area)), tf.int32)
        if self.norm == "2":
            side = tf.maximum(side, 3) + 1 - tf.maximum(side, 3) % 2
        return tf.clip_by_value(side, 1, tf.minimum(height, width) - 1)

    def _start(self, x: tf.Tensor, keys: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
        if self.norm == "2":
            return x + square_l2.start(x, keys, eps)
        stripes = tf.where(randomness.uniform(keys, [1, tf.shape(x)[2], x.shape[-1]], 0) < 0.5, -1.0, 1.0)
        return x + eps * stripes  # vertical stripes of +-eps

    def _propose(self, x, best, keys, eps, query, side) -> tf.Tensor:
        if self.norm == "2":
            return square_l2.propose(x, best, keys, eps, query, side)
        height, width, channels = tf.shape(x)[1], tf.shape(x)[2], x.shape[-1]
        draw = randomness.uniform(keys, [3 + channels], query)
        inside, _ = square_l2.window(draw[:, 0:2], side, height, width)
        signs = tf.where(draw[:, 3:] < 0.5, -1.0, 1.0)[:, None, None, :]
        return tf.where(inside > 0, x + eps * signs, best)  # the square redrawn at +-eps per channel
