"""Learning-rate schedules by name, stepped every batch: each builds a float (constant) or a
keras LearningRateSchedule from the peak rate, the steps per epoch and the optimizer config."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import keras
import tensorflow as tf

from pipeline.registry import Registry

Schedule = Callable[[float, int, int, Mapping[str, Any]], Any]  # (lr, steps_per_epoch, epochs, optimizer config)
SCHEDULES: Registry[Schedule] = Registry("optimizer.schedule")


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


@keras.saving.register_keras_serializable(package="pipeline")
class Scaled(keras.optimizers.schedules.LearningRateSchedule):
    """`base` (a rate or a schedule) times `factor`, a variable the training loop sets (to scale
    the rate once a pretrained base is unfrozen)."""

    def __init__(self, base, factor: float | tf.Variable = 1.0):
        self.base = base
        self.factor = factor if isinstance(factor, tf.Variable) else tf.Variable(factor, trainable=False)

    def __call__(self, step):
        rate = self.base(step) if callable(self.base) else tf.constant(self.base, tf.float32)
        return rate * tf.cast(self.factor, rate.dtype)

    def get_config(self):
        base = keras.saving.serialize_keras_object(self.base) if callable(self.base) else self.base
        return {"base": base, "factor": float(self.factor.numpy())}

    @classmethod
    def from_config(cls, config):
        base = config["base"]
        return cls(keras.saving.deserialize_keras_object(base) if isinstance(base, dict) else base, config["factor"])


@SCHEDULES.register("constant")
def constant(lr: float, steps_per_epoch: int, epochs: int, settings: Mapping[str, Any]) -> float:
    return lr


@SCHEDULES.register("cosine")
def cosine(lr: float, steps_per_epoch: int, epochs: int, settings: Mapping[str, Any]):
    """Cosine decay from `lr` to 0 over the whole run."""
    return keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps_per_epoch * epochs))


@SCHEDULES.register("step")
def step(lr: float, steps_per_epoch: int, epochs: int, settings: Mapping[str, Any]):
    """`lr` times `step_factor` after every `step_every` epochs."""
    every, factor = settings["step_every"], settings["step_factor"]
    # PiecewiseConstantDecay switches after a boundary step: the first step of epoch e+1 is e*steps.
    boundaries = [steps_per_epoch * e - 1 for e in range(every, epochs, every)]
    values = [lr * factor**i for i in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values) if boundaries else lr


@SCHEDULES.register("one_cycle")
def one_cycle(lr: float, steps_per_epoch: int, epochs: int, settings: Mapping[str, Any]) -> OneCycle:
    return OneCycle(lr, max(1, steps_per_epoch * epochs))


def learning_rate(settings: Mapping[str, Any], steps_per_epoch: int, epochs: int, scalable: bool = False):
    """The learning rate the optimizer config (`optimizer` group) asks for: a float or a schedule;
    `scalable` wraps it in `Scaled`, whose factor the training loop can change."""
    rate = SCHEDULES[settings["schedule"]](settings["lr"], steps_per_epoch, epochs, settings)
    return Scaled(rate) if scalable else rate
