"""The training loop: one `strategy.run` step for every tf.distribute strategy, several steps per
compiled call (fewer host round trips), early stopping, and a stop with an error on a non-finite
loss."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from pipeline.errors import UserError
from pipeline.training.objectives import OBJECTIVES, Totals

log = logging.getLogger(__name__)

ADVERSARIAL_SEED = 7  # second word of the stateless seed an adversarial batch draws with
CALL_SECONDS = 0.1  # automatic steps per call: about this long, so the progress bar moves 10x a second
MAX_STEPS_PER_CALL = 64


class NonFiniteLossError(RuntimeError, UserError):
    """The training loss became NaN or infinite."""


# A model with several outputs predicts with the first; the others are auxiliary classifiers
# (GoogLeNet's), each adding its loss to the first's with this weight (Szegedy et al. 2015, section 5).
AUXILIARY_WEIGHT = 0.3


def main_model(model: keras.Model) -> keras.Model:
    """The model as it predicts: its first output alone (the same layers and weights), or itself
    when it has one."""
    if len(model.outputs) == 1:
        return model
    return keras.Model(model.inputs, model.outputs[0], name=model.name)


def training_loss(target: str, y, main, auxiliary=()) -> tuple[tf.Tensor, tf.Tensor]:
    """The summed loss to minimise (the auxiliary outputs' losses weighted by `AUXILIARY_WEIGHT`)
    and the first output's per-example loss, the one reported."""
    losses = per_example_loss(target, y, main)
    total = tf.reduce_sum(losses)
    for extra in auxiliary:
        total += AUXILIARY_WEIGHT * tf.reduce_sum(per_example_loss(target, y, extra))
    return total, losses


def per_example_loss(target: str, y, outputs) -> tf.Tensor:
    """The target's loss per example (`objectives.OBJECTIVES`): cross-entropy from logits for
    labels and masks (averaged over pixels), MSE for images, binary cross-entropy for pairs."""
    return OBJECTIVES[target].loss(y, tf.cast(outputs, tf.float32))


def running_total(target: str, y, outputs) -> tf.Tensor:
    """The target's running metric (`Objective.running`: accuracy, pixel accuracy, PSNR) summed
    over the batch's examples."""
    return tf.reduce_sum(OBJECTIVES[target].per_example(y, tf.cast(outputs, tf.float32)))


def sums(*values: tf.Tensor) -> tf.Tensor:
    """A replica's per-step sums as one float32 vector: one all-reduce for all of them."""
    return tf.stack([tf.cast(v, tf.float32) for v in values])


@dataclass
class Steps:
    """The compiled train and eval steps of one model under one strategy.

    `adversary`: an attack (`attack(x, y, seed=...) -> x_adv`); adversarial training replaces the
    first `adversarial_ratio` of each batch by its attacked version.
    """

    strategy: tf.distribute.Strategy
    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    target: str
    global_batch: int
    jit_compile: bool = False
    adversary: Any = None
    adversarial_ratio: float = 0.5
    class_names: tuple[str, ...] | None = None  # the target's classes (default: their indices)
    train_steps: Any = field(init=False)
    eval_step: Any = field(init=False)
    predictor: keras.Model = field(init=False)  # `main_model(model)`: what evaluation runs

    def __post_init__(self):
        self.predictor = main_model(self.model)
        self.train_steps = tf.function(self._train_steps)
        self.eval_step = tf.function(self._eval_step)
        self._replica_train = tf.function(self._replica_train_step, jit_compile=self.jit_compile)

    def mix_adversarial(self, x, y):
        """The first `adversarial_ratio` of the batch replaced by its attacked version (Madry et
        al. 2018; Goodfellow et al. 2015 mix clean and adversarial examples). The attack's noise
        is seeded by the step number: new each step, the same after a resume."""
        count = tf.cast(tf.round(self.adversarial_ratio * tf.cast(tf.shape(x)[0], tf.float32)), tf.int32)
        seed = tf.stack([tf.cast(self.optimizer.iterations, tf.int64), tf.constant(ADVERSARIAL_SEED, tf.int64)])
        attacked = self.adversary(x[:count], y[:count], seed=seed)
        return tf.concat([tf.stop_gradient(attacked), x[count:]], axis=0)

    def _replica_train_step(self, x, y):
        if self.adversary is not None:
            x = self.mix_adversarial(x, y)
        with tf.GradientTape() as tape:
            outputs = self.model(x, training=True)
            main, *auxiliary = outputs if isinstance(outputs, list | tuple) else [outputs]
            total, losses = training_loss(self.target, y, main, auxiliary)
            loss = total / self.global_batch
            if self.model.losses:
                loss += tf.add_n(self.model.losses) / self.strategy.num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        count = tf.cast(tf.shape(y)[0], tf.float32)
        return sums(tf.reduce_sum(losses), running_total(self.target, y, main), count)

    def _train_steps(self, iterator, count):
        """`count` training steps in one call: per step, the summed loss, running metric and
        examples, as a (count, 3) tensor (the host finds a non-finite step in it). The three sums
        are one all-reduce: each is a round trip between workers."""
        rows = tf.TensorArray(tf.float32, size=count)
        for i in tf.range(count):
            sums = self.strategy.run(self._replica_train, args=next(iterator))
            rows = rows.write(i, self.strategy.reduce("SUM", sums, axis=None))
        return rows.stack()

    def _replica_eval_step(self, x, y):
        outputs = tf.cast(self.predictor(x, training=False), tf.float32)
        losses = per_example_loss(self.target, y, outputs)
        count = tf.cast(tf.shape(y)[0], tf.float32)
        tallies = OBJECTIVES[self.target].tallies(y, outputs)
        return tf.concat([sums(tf.reduce_sum(losses), running_total(self.target, y, outputs), count), tallies], 0)

    def _eval_step(self, batch):
        """The batch's summed loss, running metric, examples and the target's tallies, one
        all-reduce."""
        return self.strategy.reduce("SUM", self.strategy.run(self._replica_eval_step, args=batch), axis=None)

    @property
    def names(self) -> tuple[str, ...]:
        """The class names the metrics use, one per output channel."""
        return self.class_names or tuple(str(i) for i in range(self.predictor.output_shape[-1]))


def totals(steps: Steps, dataset) -> Totals:
    """The sums over a (distributed) dataset that its metrics come from."""
    found = None
    for batch in dataset:
        row = steps.eval_step(batch).numpy().astype(np.float64)
        found = row if found is None else found + row
    if found is None:
        raise ValueError("the split to evaluate is empty")
    return Totals(found[0], found[1], found[2], found[3:])


def evaluate(steps: Steps, dataset) -> dict[str, float]:
    """The mean loss and the target's metrics over a (distributed) dataset (`Objective.summary`):
    accuracy, top-5 accuracy, NLL and ECE for labels; pixel accuracy and IoU for masks; MSE, PSNR
    and SSIM for images; accuracy for pairs."""
    return summarize(steps, totals(steps, dataset))


def summarize(steps: Steps, found: Totals) -> dict[str, float]:
    return {"loss": found.mean(found.loss)} | OBJECTIVES[steps.target].summary(found, steps.names)


def early_stop(history: list[dict], patience: int | None) -> bool:
    """True when the validation loss has not improved for `patience` epochs."""
    if not patience or len(history) <= patience:
        return False
    losses = [h["val_loss"] for h in history]
    return min(losses[-patience:]) >= min(losses[:-patience])


class Pace:
    """Steps per compiled call: `fixed`, or (None) as many as take about `CALL_SECONDS`, from the
    time the last call took per step (the first call of a run, which traces, runs one step).
    `agree`: under several workers, turns this worker's proposal into the count every worker
    uses (`agreement`), so that their compiled calls, and the collectives in them, pair up."""

    def __init__(self, fixed: int | None = None, agree: Callable[[int], int] | None = None):
        self.fixed, self.count, self.agree = fixed, 1, agree

    def next(self, remaining: int) -> int:
        return min(self.fixed or self.count, remaining)

    def observe(self, count: int, seconds: float) -> None:
        if self.fixed:
            return
        per_step = max(seconds / count, 1e-6)
        proposed = int(np.clip(CALL_SECONDS / per_step, 1, MAX_STEPS_PER_CALL))
        self.count = self.agree(proposed) if self.agree else proposed


def agreement(gather: Callable[[float], list[float]] | None) -> Callable[[int], int] | None:
    """Under several workers (`gather`: `strategies.gathering`): a function giving every worker
    the same steps per call from each worker's own proposal (each worker's clock differs): their
    mean. None for one process, whose count is its own."""
    if gather is None:
        return None
    return lambda proposed: max(1, round(float(np.mean(gather(proposed)))))


def train_epoch(
    steps: Steps, iterator, epoch: int, num_steps: int, train_steps: int, pace: Pace | None = None
) -> dict[str, float]:
    """One epoch with a progress bar; `train_steps` <= `num_steps` batches are trained on, `pace`
    steps per call."""
    pace, running = pace or Pace(), OBJECTIVES[steps.target].running
    bar = keras.utils.Progbar(train_steps, stateful_metrics=["loss", running], unit_name="batch")
    summed, start, step = np.zeros(3), time.perf_counter(), 0
    while step < train_steps:
        count, called = pace.next(train_steps - step), time.perf_counter()
        rows = steps.train_steps(iterator, tf.constant(count)).numpy()
        pace.observe(count, time.perf_counter() - called)
        for row in rows:
            summed, step = summed + row, step + 1
            check_finite(summed[0] / summed[2], epoch, step)
        bar.update(step, [("loss", summed[0] / summed[2]), (running, summed[1] / summed[2])])
    for _ in range(num_steps - train_steps):
        next(iterator)  # keep the epoch's batches aligned with an uncapped run
    seconds = time.perf_counter() - start
    return {
        "train_loss": summed[0] / summed[2],
        f"train_{running}": summed[1] / summed[2],
        "epoch_time_s": seconds,
        "examples_per_s": summed[2] / seconds,
    }


def check_finite(loss: float, epoch: int, step: int) -> None:
    if not math.isfinite(loss):
        raise NonFiniteLossError(
            f"The training loss became {loss} at epoch {epoch + 1}, batch {step}; training stopped "
            "and the last good checkpoint is kept. Try a lower optimizer.lr."
        )
