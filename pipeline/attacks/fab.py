"""FAB-T, the targeted fast adaptive boundary attack (Croce and Hein, "Minimally distorted
adversarial examples with a fast adaptive boundary attack", ICML 2020), as AutoAttack's standard
cascade runs it: for each of the `target_classes` classes ranked highest after the true one, at
most `steps` iterations towards the boundary with that class, on the examples still standing.

Each iteration linearises the margin f = z_t - z_y at the current point x1 (one gradient) and
projects both x1 and the original x onto the hyperplane f(x1) + grad.(z - x1) = 0 within the data
range (`fab_projection`), steps d1 and d2. It moves to (x1 + eta d1)(1 - alpha) + (x + eta d2) alpha,
alpha = min(|d1| / (|d1| + |d2|), alpha_max): towards the boundary, biased towards x. Once the
point is adversarial it is kept if it is the closest so far, and the search steps back to
x + beta (x1 - x) to look for a closer one. An example is broken when its closest adversarial
point lies within `eps`. The paper's settings: eta 1.05, beta 0.9, alpha_max 0.1, 100 steps, 9
targets; one restart from x itself (more restarts start at random in the eps / 2 ball, as the
authors' code does).

Deliberate difference from the authors' code: an example leaves the batch as soon as its closest
adversarial point is within `eps` (theirs keeps shrinking it for the remaining steps), so the
verdict is theirs and the returned point is the first within the budget, not the smallest.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from pipeline.attacks.base import ATTACKS, example_rows
from pipeline.attacks.fab_projection import project
from pipeline.attacks.standing_runs import StandingRuns

ETA, BETA, ALPHA_MAX = 1.05, 0.9, 0.1


class _State(NamedTuple):
    x: tf.Tensor  # the current point, x1
    best: tf.Tensor  # the closest adversarial point so far (x until one is found)
    best_size: tf.Tensor  # (N,) its distance to x (inf until one is found)
    eps: tf.Tensor  # (N,) the budget: an example is broken once best_size <= eps


@ATTACKS.register("fab")
class FAB(StandingRuns):
    """FAB-T in the `norm` ("inf" or "2") ball of radius `eps`: `steps` iterations per target
    class, `target_classes` targets, `restarts` runs per target (see the module)."""

    def __init__(
        self,
        model: keras.Model,
        eps: float = 8 / 255,
        norm: str = "inf",
        steps: int = 100,
        target_classes: int = 9,
        restarts: int = 1,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(model, eps, norm, steps, restarts, target_classes, per_target=True, seed=seed, **kwargs)

    def run(self, index: int, rows: tuple, keys: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """From x (a restart: from the eps / 2 sphere), the steps: each example's closest
        adversarial point, and whether it lies within eps."""
        start = self._start(rows[0], rows[2], keys, index % self.restarts > 0)
        return self.until_done(
            self.compiled(), rows, start, self.spans(), self._broken, lambda s: (s.best, self._broken(s))
        )

    def spans(self) -> list[int]:
        """Where a run pauses to let the examples already broken go: after 1, 2, 4, ... steps."""
        return sorted({0, self.steps} | {2**i for i in range(self.steps.bit_length()) if 2**i < self.steps})

    def _start(self, x, eps, keys, random: bool) -> _State:
        point = x
        if random:  # the authors' restarts: on the surface of the eps / 2 ball
            noise = self.norm.random(x, eps, keys)
            point = self.clip_to_range(x + noise / self.per_example(self.norm.size(noise), x) * eps / 2)
        return _State(point, x, tf.fill(tf.shape(x)[:1], float("inf")), tf.reshape(eps, [-1]))

    @staticmethod
    def _broken(s: _State) -> tf.Tensor:
        return s.best_size <= s.eps

    def perturb(self, x, y, eps, target, state: _State, first, last) -> _State:
        """Iterations first ... last - 1 from `state`; an example stops once broken within `eps`."""
        return tf.while_loop(
            lambda k, s: (k < last) & ~tf.reduce_all(self._broken(s)),
            lambda k, s: (k + 1, self._iterate(s, x, y, target)),
            (first, state),
        )[1]

    def _iterate(self, s: _State, x, y, target) -> _State:
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(s.x)
            logits = self.logits(s.x)
            margin = tf.gather(logits, target, axis=1, batch_dims=1) - tf.gather(logits, y, axis=1, batch_dims=1)
            total = tf.reduce_sum(margin)
        flat = lambda v: tf.reshape(v, [tf.shape(v)[0], -1])
        w = flat(tape.gradient(total, s.x, unconnected_gradients=tf.UnconnectedGradients.ZERO))
        b = tf.reduce_sum(w * flat(s.x), axis=1) - margin  # the hyperplane where the linearised margin is 0
        points, planes = tf.concat([flat(s.x), flat(x)], 0), (tf.tile(w, [2, 1]), tf.tile(b, [2]))
        both = project(points, *planes, self.norm_name, *self.clip)
        d1, d2 = (tf.reshape(d, tf.shape(x)) for d in tf.split(both, 2))  # from x1 and from x, in one call
        a1, a2 = (tf.maximum(self.norm.size(d), 1e-8) for d in (d1, d2))
        alpha = self.per_example(tf.clip_by_value(a1 / (a1 + a2), 0.0, ALPHA_MAX), x)
        moved = self.clip_to_range((s.x + ETA * d1) * (1 - alpha) + (x + ETA * d2) * alpha)
        fooled = tf.argmax(self.logits(moved), axis=1, output_type=tf.int32) != y
        size = self.norm.size(moved - x)
        closer = fooled & (size < s.best_size)
        return _State(
            tf.where(example_rows(fooled, x), x + BETA * (moved - x), moved),
            tf.where(example_rows(closer, x), moved, s.best),
            tf.where(closer, size, s.best_size),
            s.eps,
        )
