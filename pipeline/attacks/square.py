"""Square (Andriushchenko, Croce, Flammarion and Hein, "Square Attack: a query-efficient black-box
adversarial attack via random search", ECCV 2020), in L-infinity: it never reads a gradient, so
a model whose gradients are masked (saturated, quantised, non-differentiable) does not fool it.

From vertical stripes of +-eps, each query redraws one random square of the perturbation (a new
+-eps per channel) and keeps it when the margin z_y - max_{j != y} z_j falls. The square's side
shrinks on the paper's schedule: a share p of the image's pixels, p halved after 10, 50, 200, 500,
1,000, 2,000, 4,000, 6,000 and 8,000 of 10,000 queries (the same fractions of another budget).
An example stops querying once it is misclassified; `queries` counts every forward pass an
example takes, the first one (the stripes) included.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.attacks import randomness
from pipeline.attacks.base import Attack

P_INIT = 0.05  # the paper's initial share of pixels per square in L-infinity (ImageNet; AutoAttack uses 0.8)
HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)  # of 10,000 queries


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
    """L-infinity Square attack within `eps`, at most `queries` forward passes per example."""

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
        if str(norm) != "inf":
            raise ValueError(f"Square is implemented for norm='inf'; received norm={norm!r}")
        if queries < 1:
            raise ValueError(f"Invalid value for argument `queries`. Expected >= 1. Received: queries={queries}")
        if not 0 < p_init <= 1:
            raise ValueError(f"Invalid value for argument `p_init`. Expected (0, 1]. Received: p_init={p_init}")
        self.eps, self.queries, self.p_init = eps, int(queries), float(p_init)

    def budget(self, x: tf.Tensor) -> tuple:
        return (self.per_example(self.eps, x),)

    def perturb(self, x: tf.Tensor, y: tf.Tensor, keys: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
        shape = tf.shape(x)
        height, width, channels = shape[1], shape[2], x.shape[-1]
        stripes = tf.where(randomness.uniform(keys, [1, width, channels], 0) < 0.5, -1.0, 1.0)
        best = self.clip_to_range(x + eps * stripes)
        best_margin = margin(self.logits(best), y)
        rows, cols = tf.range(height)[None, :, None], tf.range(width)[None, None, :]
        for query in tf.range(1, self.queries):
            active = best_margin >= 0  # not fooled yet: these examples query again
            if not tf.reduce_any(active):
                break
            draw = randomness.uniform(keys, [3 + channels], query)
            side = tf.cast(
                tf.round(tf.sqrt(square_share(query, self.queries, self.p_init) * tf.cast(height * width, tf.float32))), tf.int32
            )
            side = tf.clip_by_value(side, 1, tf.minimum(height, width) - 1)
            top = tf.cast(draw[:, 0] * tf.cast(height - side + 1, tf.float32), tf.int32)[:, None, None]
            left = tf.cast(draw[:, 1] * tf.cast(width - side + 1, tf.float32), tf.int32)[:, None, None]
            inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
            signs = tf.where(draw[:, 3:] < 0.5, -1.0, 1.0)[:, None, None, :]
            candidate = self.clip_to_range(tf.where(inside[..., None], x + eps * signs, best))
            candidate_margin = margin(self.logits(candidate), y)
            better = active & (candidate_margin < best_margin)
            best = tf.where(better[:, None, None, None], candidate, best)
            best_margin = tf.where(better, candidate_margin, best_margin)
        return best
