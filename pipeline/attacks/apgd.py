"""APGD, auto-PGD (Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble
of diverse parameter-free attacks", ICML 2020): PGD with momentum whose step size needs no tuning.

From a random start on the ball's surface it steps from 2 eps with momentum 0.75. At
checkpoints w_j, where p_0 = 0, p_1 = 0.22 and p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) of
the iterations (`checkpoints`), it halves the step of every example whose loss rose in at most
rho = 75% of the steps since the last checkpoint, or (from the second checkpoint on) whose step
was not halved there and whose best loss has not improved since. A halved example goes back to
its best point and gradient, its momentum term kept. Each restart and each target class runs
only on the examples still classified correctly (the early stop).

Settings and rules are those of the authors' code (`pyautoattack`), with these deliberate
differences: each example draws its start from its own stream (`randomness`), leaves the batch
once fooled and keeps its first adversarial point (theirs: the last; the verdict is the same);
at the first checkpoint the first step's loss is compared with the start's (theirs compares it
with 0, an index that wraps to an unfilled row).

Losses: `ce` (cross-entropy) and `dlr`, the difference of logits ratio, which a rescaling of the
logits cannot flatten: -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3), the pi the classes by
decreasing logit (3 classes at least). `targeted=True` is APGD-T: for each of the `target_classes`
classes ranked highest after the true one (9 in the paper, fewer when the model has fewer), the
targeted loss, DLR's -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2) (4 classes at least) or
-CE(t), towards that class; `y` stays the true labels.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from pipeline.attacks.base import ATTACKS, example_rows
from pipeline.attacks.standing_runs import StandingRuns

MOMENTUM = 0.75  # alpha: the weight of the new step against the previous move
RHO = 0.75  # a step is kept while the loss rose in at least this share of the steps between checkpoints
LOSSES = ("ce", "dlr")


class _State(NamedTuple):
    """One run's per-example state ((N, ...) like x, or (N,); `step` is (N, 1, ..., 1))."""

    x: tf.Tensor
    previous: tf.Tensor  # x one iteration ago: the momentum term
    grad: tf.Tensor
    step: tf.Tensor
    value: tf.Tensor
    best_value: tf.Tensor
    best_x: tf.Tensor
    best_grad: tf.Tensor
    first: tf.Tensor  # the first adversarial point (x itself until one is found)
    fooled: tf.Tensor
    rises: tf.Tensor  # steps since the last checkpoint where the loss rose
    halved_last: tf.Tensor  # the step was halved at the last checkpoint
    best_at_last: tf.Tensor  # the best loss at the last checkpoint


def checkpoints(steps: int) -> list[int]:
    """The iterations w_j after which APGD may halve its step, as the authors' code counts them:
    the first after max(int(0.22 steps), 1) iterations, each next span 0.03 steps shorter (at
    least 1) down to 0.06 steps (at least 1). With 100 steps: 22, 41, 57, 70, 80, 87, 93, 99, the
    paper's ceil(p_j * steps) for p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)."""
    span, shorter, shortest = max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)
    marks = [0]
    while marks[-1] + span <= steps:
        marks.append(marks[-1] + span)
        span = max(span - shorter, shortest)
    return marks


def dlr(logits: tf.Tensor, y: tf.Tensor, target: tf.Tensor | None = None) -> tf.Tensor:
    """The difference of logits ratio, per example; with `target`, its targeted form."""
    ranked = tf.sort(logits, axis=1, direction="DESCENDING")
    z_y = tf.gather(logits, y, axis=1, batch_dims=1)
    if target is not None:
        z_t = tf.gather(logits, target, axis=1, batch_dims=1)
        return -(z_y - z_t) / (ranked[:, 0] - (ranked[:, 2] + ranked[:, 3]) / 2 + 1e-12)
    best_other = tf.where(ranked[:, 0] == z_y, ranked[:, 1], ranked[:, 0])
    return -(z_y - best_other) / (ranked[:, 0] - ranked[:, 2] + 1e-12)


@ATTACKS.register("apgd")
class APGD(StandingRuns):
    """`steps` iterations of auto-PGD in the `norm` ball of radius `eps`, `restarts` random starts;
    `loss` "ce" or "dlr"; `targeted`: APGD-T over `target_classes` classes (see the module)."""

    def __init__(
        self,
        model: keras.Model,
        eps: float = 8 / 255,
        norm: str = "inf",
        steps: int = 100,
        loss: str = "ce",
        targeted: bool = False,
        restarts: int = 1,
        seed: int | None = None,
        target_classes: int = 9,
        **kwargs,
    ):
        if loss not in LOSSES:
            raise ValueError(f"Invalid value for argument `loss`. Expected one of {LOSSES}. Received: loss={loss!r}")
        super().__init__(model, eps, norm, steps, restarts, target_classes, per_target=targeted, seed=seed, **kwargs)
        self.loss_name = loss
        marks = np.zeros(self.steps + 1, bool)
        marks[[w for w in checkpoints(self.steps) if w > 0]] = True
        self._checkpoint, self._since = tf.constant(marks), tf.constant(_spans(self.steps), tf.float32)

    def run(self, index: int, rows: tuple, keys: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """A random start, then the steps: each example's first adversarial point, and whether
        it has one."""
        start = self.in_batches(self.start, *rows, keys)  # once per run: eager, no graph to trace
        return self.until_done(
            self.compiled(), rows, start, self.spans(), lambda s: s.fooled, lambda s: (s.first, s.fooled)
        )

    def spans(self) -> list[int]:
        """Where a run pauses to let its fooled examples go: after 1, 2, 4, ... steps up to the
        first checkpoint (most examples fall early), then at each checkpoint."""
        marks = checkpoints(self.steps)
        early = [2**i for i in range(self.steps.bit_length()) if 2**i < (marks[1] if len(marks) > 1 else self.steps)]
        return sorted(set(marks) | set(early) | {0, self.steps})

    def check_classes(self, classes: int) -> None:
        needed = (4 if self.per_target else 3) if self.loss_name == "dlr" else 2
        if classes < needed:
            kind = "targeted DLR" if self.per_target else "DLR"
            raise ValueError(f"{kind} needs at least {needed} classes; this model has {classes}: use loss='ce'")

    def objective(self, x: tf.Tensor, y: tf.Tensor, target: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The per-example loss APGD ascends, and the logits."""
        logits = self.logits(x)
        if self.loss_name == "dlr":
            value = dlr(logits, y, target if self.per_target else None)
        elif self.per_target:
            value = -tf.nn.sparse_softmax_cross_entropy_with_logits(target, logits)
        else:
            value = tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
        return value, logits

    def value_and_gradient(self, x, y, target) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """The per-example loss, the logits and the loss's gradient w.r.t. x."""
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            value, logits = self.objective(x, y, target)
            total = tf.reduce_sum(value)
        return value, logits, tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def start(self, x, y, eps, target, keys) -> _State:
        """A run's random start, within the ball and the data range, as the state of step 0."""
        noise = self.norm.random(x, eps, keys)  # on the ball's surface, as the authors' code starts
        start = self.clip_to_range(x + noise / self.per_example(self.norm.size(noise), x) * eps)
        value, logits, grad = self.value_and_gradient(start, y, target)
        fooled = tf.argmax(logits, axis=1, output_type=tf.int32) != y
        first = tf.where(example_rows(fooled, x), start, x)
        yes = tf.ones_like(fooled)  # the first checkpoint halves only oscillating steps
        return _State(start, start, grad, 2.0 * eps, value, value, start, grad, first, fooled, 0.0 * value, yes, value)

    def perturb(self, x, y, eps, target, state: _State, first, last) -> _State:
        """Steps first ... last - 1 of a run from `state` (an example stops once it is fooled:
        `state.first` holds its first adversarial point)."""
        return tf.while_loop(
            lambda k, s: (k < last) & ~tf.reduce_all(s.fooled),  # until every example has its first
            lambda k, s: (k + 1, self._iterate(s, k, x, y, target, lambda z: self._project(x, eps, z))),
            (first, state),
        )[1]

    def _project(self, x, eps, z):
        return self.clip_to_range(x + self.norm.project(z - x, eps))

    def _iterate(self, s: _State, k, x, y, target, project) -> _State:
        z = project(s.x + s.step * self.norm.direction(s.grad))
        alpha = tf.where(k > 0, MOMENTUM, 1.0)
        moved = project(s.x + alpha * (z - s.x) + (1 - alpha) * (s.x - s.previous))
        value, logits, grad = self.value_and_gradient(moved, y, target)
        fooled_now = tf.argmax(logits, axis=1, output_type=tf.int32) != y
        first = tf.where(example_rows(fooled_now & ~s.fooled, x), moved, s.first)
        better = value > s.best_value
        rows = example_rows(better, x)
        s = s._replace(
            x=moved, previous=s.x, grad=grad, rises=s.rises + tf.cast(value > s.value, tf.float32), value=value,
            best_x=tf.where(rows, moved, s.best_x), best_grad=tf.where(rows, grad, s.best_grad),
            best_value=tf.maximum(value, s.best_value), first=first, fooled=s.fooled | fooled_now,
        )  # fmt: skip
        return tf.cond(self._checkpoint[k + 1], lambda: self._check(s, k, x), lambda: s)

    def _check(self, s: _State, k, x) -> _State:
        """At a checkpoint: halve the step (and restart from the best point) where the loss stalled."""
        oscillating = s.rises <= RHO * self._since[k + 1]
        stalled = ~s.halved_last & (s.best_value <= s.best_at_last)
        halve = oscillating | stalled
        rows = example_rows(halve, x)
        return s._replace(
            step=tf.where(rows, s.step / 2, s.step),
            x=tf.where(rows, s.best_x, s.x),  # the momentum term stays x_best - the point before the last step
            grad=tf.where(rows, s.best_grad, s.grad),
            rises=tf.zeros_like(s.rises),
            halved_last=halve,
            best_at_last=s.best_value,
        )


def _spans(steps: int) -> np.ndarray:
    """At each checkpoint w_j, w_j - w_{j-1}: the steps its rule counts over."""
    spans, last = np.zeros(steps + 1, np.float32), 0
    for w in checkpoints(steps)[1:]:
        spans[w], last = w - last, w
    return spans
