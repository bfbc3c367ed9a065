"""Learning-rate schedules by name, stepped every batch."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

SCHEDULES = ("constant", "cosine", "step", "one_cycle")


@keras.saving.register_keras_serializable(package="pipeline")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's one-cycle policy: a linear warm-up from peak/25 to the peak over `warmup` of the
    steps, then a cosine decay to peak/1e4 (Smith and Topin, 2019)."""

    def __init__(self, peak: float, total_steps: int, warmup: float = 0.3):
        self.peak, self.total_steps, self.warmup = peak, total_steps, warmup

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        rise = max(1.0, self.warmup * self.total_steps)
        start, end = self.peak / 25.0, self.peak / 1e4
        warm = start + (self.peak - start) * step / rise
        progress = tf.clip_by_value((step - rise) / max(1.0, self.total_steps - rise), 0.0, 1.0)
        cool = end + (self.peak - end) * 0.5 * (1.0 + tf.cos(math.pi * progress))
        return tf.where(step < rise, warm, cool)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup": self.warmup}


def learning_rate(name: str, lr: float, steps_per_epoch: int, epochs: int, step_every: int, step_factor: float):
    """A float (constant) or a keras LearningRateSchedule over `epochs * steps_per_epoch` steps."""
    total = max(1, steps_per_epoch * epochs)
    if name == "constant":
        return lr
    if name == "cosine":
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total)
    if name == "step":
        # PiecewiseConstantDecay switches after a boundary step: the first step of epoch e+1 is e*steps.
        boundaries = [steps_per_epoch * e - 1 for e in range(step_every, epochs, step_every)]
        values = [lr * step_factor**i for i in range(len(boundaries) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values) if boundaries else lr
    if name == "one_cycle":
        return OneCycle(lr, total)
    raise ValueError(f"Unknown schedule {name!r}. Known: {SCHEDULES}.")
