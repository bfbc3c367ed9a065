"""Optimizers by name (`optimizer.name`), built from the `optimizer` config group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import tensorflow as tf

from pipeline.errors import ConfigError
from pipeline.registry import Registry
from pipeline.training.schedules import Scaled, learning_rate

OPTIMIZERS: Registry[type[keras.optimizers.Optimizer]] = Registry("optimizer.name")
OPTIMIZERS.register("adam", keras.optimizers.Adam)
OPTIMIZERS.register("adamw", keras.optimizers.AdamW)
OPTIMIZERS.register("sgd", keras.optimizers.SGD)
OPTIMIZERS.register("rmsprop", keras.optimizers.RMSprop)
OPTIMIZERS.register("nadam", keras.optimizers.Nadam)
OPTIMIZERS.register("adagrad", keras.optimizers.Adagrad)
TAKE_MOMENTUM = ("sgd", "rmsprop")  # the optimizers with a `momentum` argument


def make_optimizer(
    settings: Mapping[str, Any],
    steps_per_epoch: int,
    epochs: int,
    precision: str = "float32",
    scalable: bool = False,
) -> keras.optimizers.Optimizer:
    """The optimizer the `optimizer` config asks for, its learning rate scheduled over `epochs`
    (`scalable`: through a `Scaled` schedule); wrapped in a LossScaleOptimizer under mixed_float16."""
    arguments = {"learning_rate": learning_rate(settings, steps_per_epoch, epochs, scalable)}
    if settings["momentum"] is not None:
        if settings["name"] not in TAKE_MOMENTUM:
            raise ConfigError(f"optimizer.momentum applies to {' and '.join(TAKE_MOMENTUM)}, not {settings['name']}")
        arguments["momentum"] = settings["momentum"]
    if settings["weight_decay"] is not None:
        arguments["weight_decay"] = settings["weight_decay"]
    optimizer = OPTIMIZERS[settings["name"]](**arguments)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def lr_factor(optimizer: keras.optimizers.Optimizer) -> tf.Variable | None:
    """The factor of a `Scaled` learning rate (see `make_optimizer(scalable=True)`), else None."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    schedule = getattr(inner, "_learning_rate", None)  # Keras keeps the schedule object here
    return schedule.factor if isinstance(schedule, Scaled) else None


def current_lr(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the last step used (the inner optimizer's under loss scaling)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return float(keras.ops.convert_to_numpy(inner.learning_rate))
