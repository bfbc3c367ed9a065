"""Square (Andriushchenko, Croce, Flammarion and Hein, "Square Attack: a query-efficient black-box
adversarial attack via random search", ECCV 2020), in L-infinity and L2: it never reads a
gradient, so a model whose gradients are masked (saturated, quantised, non-differentiable) does
not fool it.

In L-infinity, from vertical stripes of +-eps, each query redraws one random square of the perturbation (a new
+-eps per channel) and keeps it when the margin z_y - max_{j != y} z_j falls. The square's side
shrinks on the paper's schedule: a share p of the image's pixels, from `p_init` (0.8, as in the
authors' code, ART and torchattacks; the paper's ImageNet runs start at 0.05), halved after
proposal 10, 50, 200, 500, 1,000, 2,000, 4,000, 6,000 and 8,000. With `rescale` (the authors'
`SquareAttack` default) those points are fractions of 10,000 scaled to the budget; without it
(AutoAttack's standard run) they stay where they are. An example stops querying once it is
misclassified; `queries` counts every forward pass an example takes, the first one (the stripes)
included. L2 proposes differently (`square_l2`) on the same schedule, its window an odd side of
at least 3 pixels.

Deliberate differences from the authors' code: each example draws its own square (theirs: one
place and one side for the whole batch per query), from its own random stream (`randomness`);
a budget of `queries` forward passes makes `queries - 1` proposals (theirs: `n_queries` proposals
after the first pass).
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from pipeline.attacks import randomness, square_l2, square_windows
from pipeline.attacks.base import Attack, example_rows

P_INIT = 0.8  # the initial share of pixels per square (the authors' code; their ImageNet runs: 0.05)
HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)  # proposals (of 10,000, when rescaled)
SEGMENT = 100  # the most queries between two pauses (where the fooled examples leave the batch)


def square_share(proposal: tf.Tensor, queries: int, p_init: float = P_INIT, rescale: bool = True) -> tf.Tensor:
    """p at each proposal (0 the first; a scalar or a vector of them): p_init halved once for each
    point of the schedule passed, the points scaled from 10,000 queries to `queries` if `rescale`."""
    passed = tf.cast(proposal, tf.float32)[..., None]
    if rescale:
        passed = tf.floor(passed * 10000.0 / queries)  # the authors' int(it / n_queries * 10000)
    halvings = tf.reduce_sum(tf.cast(passed > tf.constant(HALVINGS, tf.float32), tf.float32), axis=-1)
    return p_init / 2.0**halvings


def margin(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """z_y - max_{j != y} z_j: negative once the example is misclassified."""
    z_y = tf.gather(logits, y, axis=1, batch_dims=1)
    others = tf.where(tf.one_hot(y, tf.shape(logits)[1]) > 0, -np.inf, logits)
    return z_y - tf.reduce_max(others, axis=1)


class Best(NamedTuple):
    """Per example, the best image so far and its margin."""

    x: tf.Tensor
    margin: tf.Tensor


class Square(Attack):
    """Square attack within the `norm` ("inf" or "2") ball of radius `eps`, at most `queries`
    forward passes per example; `p_init` and `rescale` set the square's size (see the module; L2's
    proposals: `square_l2`)."""

    in_graph = False  # between segments of queries, only the examples still standing go on
    autograph = False  # its loops are tf.while_loops

    def __init__(
        self,
        model: keras.Model,
        eps: float = 8 / 255,
        norm: str = "inf",
        queries: int = 5000,
        seed=None,
        p_init: float = P_INIT,
        rescale: bool = True,
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
        self.rescale = bool(rescale)

    def budget(self, x: tf.Tensor) -> tuple:
        return (self.per_example(self.eps, x),)

    def __call__(self, x, y, seed=None, keys=None) -> tf.Tensor:
        """The adversarial batch. Queries run in compiled segments (`spans`); between them the
        examples already fooled leave the batch, so late queries cost only what is still standing."""
        x, y = self.inputs(x, y)
        (eps,), keys = self.budget(x), self.keys(x, seed, keys)
        start = self.clip_to_range(self._start(x, keys, eps))
        best = Best(start, margin(self.in_batches(self.logits, start), y))
        return self.until_done(
            self.compiled(), (x, y, keys, eps), best, self.spans(), lambda b: b.margin < 0, lambda b: b.x
        )

    def spans(self) -> list[int]:
        """Where segments of queries start and end: at query 1 (the stripes were query 0), where
        the schedule halves the square (most examples fall early), every `SEGMENT` queries and at
        the budget; a point right after another is left out (no one-query segments)."""
        scale = self.queries / 10000 if self.rescale else 1.0
        points = {round(h * scale) + 1 for h in HALVINGS} | set(range(SEGMENT, self.queries, SEGMENT))
        kept = [1]
        for point in sorted(q for q in points if 1 < q < self.queries):
            if point > kept[-1] + 1:
                kept.append(point)
        return kept + [self.queries] if self.queries > 1 else kept

    def perturb(self, x, y, keys, eps, best: Best, first, last) -> Best:
        """Queries first ... last - 1 from `best`. The segment's random draws, square sides and
        (L-inf) windows are made at once; a query then selects its row of them."""
        height, width, channels = tf.shape(x)[1], tf.shape(x)[2], x.shape[-1]
        queries = tf.range(first, last)
        share = square_share(queries - 1, self.queries, self.p_init, self.rescale)  # query q makes proposal q - 1
        area = share * tf.cast(height * width, tf.float32)
        sides = self._side(area, height, width)
        count = square_l2.draws(channels) if self.norm == "2" else 2 + channels
        draws = randomness.uniform(keys[None], [count], queries[:, None])  # (S, N, count)
        propose = self._proposals(x, eps, draws, sides, height, width)

        def query(i, best: Best):
            candidate = propose(best.x, i)
            candidate_margin = margin(self.logits(candidate), y)
            better = (best.margin >= 0) & (candidate_margin < best.margin)  # only the examples not fooled yet
            return i + 1, Best(
                tf.where(example_rows(better, candidate), candidate, best.x),
                tf.where(better, candidate_margin, best.margin),
            )

        going = lambda i, best: (i < last - first) & tf.reduce_any(best.margin >= 0)
        return tf.while_loop(going, query, (tf.constant(0, last.dtype), best))[1]

    def _side(self, area: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
        """The window's side for a share of the image's area: at least 1 pixel in L-inf; in L2 an
        odd side of at least 3 (the block needs a centre)."""
        side = tf.cast(tf.round(tf.sqrt(area)), tf.int32)
        if self.norm == "2":
            side = tf.maximum(side, 3) + 1 - tf.maximum(side, 3) % 2
        return tf.clip_by_value(side, 1, tf.minimum(height, width))

    def _start(self, x: tf.Tensor, keys: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
        if self.norm == "2":
            return x + square_l2.start(x, keys, eps)
        stripes = tf.where(randomness.uniform(keys, [1, tf.shape(x)[2], x.shape[-1]], 0) < 0.5, -1.0, 1.0)
        return x + eps * stripes  # vertical stripes of +-eps

    def _proposals(self, x, eps, draws, sides, height, width):
        """(best, i) -> query i's candidate, already in the data range."""
        if self.norm == "2":
            return lambda best, i: self.clip_to_range(square_l2.propose(x, best, draws[i], eps, sides[i]))
        _, rows = square_windows.lines(draws[..., 0], sides[:, None], height)  # (S, N, H)
        _, cols = square_windows.lines(draws[..., 1], sides[:, None], width)  # (S, N, W)
        up = draws[..., 2:] < 0.5  # (S, N, C): the square's sign per channel
        high, low = self.clip_to_range(x + eps), self.clip_to_range(x - eps)
        return lambda best, i: tf.where(
            square_windows.mask(rows[i], cols[i]), tf.where(up[i][:, None, None, :], high, low), best
        )  # the square redrawn at +-eps per channel
