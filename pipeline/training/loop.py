"""The training loop: one `strategy.run` step for every tf.distribute strategy, early stopping,
and a stop with an error on a non-finite loss."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from pipeline.errors import UserError

log = logging.getLogger(__name__)

ADVERSARIAL_SEED = 7  # second word of the stateless seed an adversarial batch draws with


class NonFiniteLossError(RuntimeError, UserError):
    """The training loss became NaN or infinite."""


def per_example_loss(target: str, y, outputs) -> tf.Tensor:
    """Cross-entropy from logits per example (averaged over pixels for masks); MSE for images."""
    outputs = tf.cast(outputs, tf.float32)
    if target == "image":
        return tf.reduce_mean(tf.reshape(tf.square(outputs - tf.cast(y, tf.float32)), [tf.shape(y)[0], -1]), axis=1)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y, tf.int32), outputs)
    return tf.reduce_mean(tf.reshape(losses, [tf.shape(y)[0], -1]), axis=1)


def correct_count(target: str, y, outputs) -> tf.Tensor:
    """Correct predictions (pixels for masks, as a fraction per example); 0 for reconstructions."""
    if target == "image":
        return tf.constant(0.0)
    hits = tf.cast(tf.equal(tf.argmax(outputs, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32)), tf.float32)
    return tf.reduce_sum(tf.reduce_mean(tf.reshape(hits, [tf.shape(y)[0], -1]), axis=1))


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
    train_step: Any = field(init=False)
    eval_step: Any = field(init=False)

    def __post_init__(self):
        self.train_step = tf.function(self._train_step)
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
            losses = per_example_loss(self.target, y, outputs)
            loss = tf.reduce_sum(losses) / self.global_batch
            if self.model.losses:
                loss += tf.add_n(self.model.losses) / self.strategy.num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return tf.reduce_sum(losses), correct_count(self.target, y, outputs), tf.cast(tf.shape(y)[0], tf.float32)

    def _train_step(self, iterator):
        sums = self.strategy.run(self._replica_train, args=next(iterator))
        return [self.strategy.reduce("SUM", s, axis=None) for s in sums]

    def _replica_eval_step(self, x, y):
        outputs = self.model(x, training=False)
        losses = per_example_loss(self.target, y, outputs)
        return tf.reduce_sum(losses), correct_count(self.target, y, outputs), tf.cast(tf.shape(y)[0], tf.float32)

    def _eval_step(self, batch):
        sums = self.strategy.run(self._replica_eval_step, args=batch)
        return [self.strategy.reduce("SUM", s, axis=None) for s in sums]


def evaluate(steps: Steps, dataset) -> dict[str, float]:
    """Mean loss and accuracy over a (distributed) dataset."""
    totals = np.zeros(3)
    for batch in dataset:
        totals += [float(v) for v in steps.eval_step(batch)]
    return {"loss": totals[0] / max(totals[2], 1), "accuracy": totals[1] / max(totals[2], 1)}


def early_stop(history: list[dict], patience: int | None) -> bool:
    """True when the validation loss has not improved for `patience` epochs."""
    if not patience or len(history) <= patience:
        return False
    losses = [h["val_loss"] for h in history]
    return min(losses[-patience:]) >= min(losses[:-patience])


def train_epoch(steps: Steps, iterator, epoch: int, num_steps: int, train_steps: int) -> dict[str, float]:
    """One epoch with a progress bar; `train_steps` <= `num_steps` batches are trained on."""
    bar = keras.utils.Progbar(train_steps, stateful_metrics=["loss", "accuracy"], unit_name="batch")
    totals, start = np.zeros(3), time.perf_counter()
    for step in range(num_steps):
        if step >= train_steps:
            next(iterator)  # keep the epoch's batches aligned with an uncapped run
            continue
        totals += [float(v) for v in steps.train_step(iterator)]
        loss = totals[0] / totals[2]
        if not math.isfinite(loss):
            raise NonFiniteLossError(
                f"The training loss became {loss} at epoch {epoch + 1}, batch {step + 1}; training stopped "
                "and the last good checkpoint is kept. Try a lower optimizer.lr."
            )
        bar.update(step + 1, [("loss", loss), ("accuracy", totals[1] / totals[2])])
    seconds = time.perf_counter() - start
    return {
        "train_loss": totals[0] / totals[2],
        "train_accuracy": totals[1] / totals[2],
        "epoch_time_s": seconds,
        "examples_per_s": totals[2] / seconds,
    }
