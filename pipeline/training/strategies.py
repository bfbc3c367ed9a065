"""tf.distribute strategies by name, and who is the chief worker (the one that logs)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import tensorflow as tf

from pipeline.errors import ConfigError
from pipeline.registry import Registry


def _multi_worker() -> tf.distribute.Strategy:
    if "TF_CONFIG" not in os.environ:
        raise ConfigError("trainer.strategy=multi_worker needs the TF_CONFIG variable describing the cluster.")
    return tf.distribute.MultiWorkerMirroredStrategy()


STRATEGIES: Registry[Callable[[], tf.distribute.Strategy]] = Registry("trainer.strategy")
STRATEGIES.register("default", tf.distribute.get_strategy)  # one device (the GPU if there is one)
STRATEGIES.register("mirrored", tf.distribute.MirroredStrategy)  # all local GPUs
STRATEGIES.register("multi_worker", _multi_worker)  # several machines, from TF_CONFIG


def make_strategy(name: str) -> tf.distribute.Strategy:
    """Create the strategy; for multi_worker this must come before any other TensorFlow op."""
    return STRATEGIES[name]()


def is_chief() -> bool:
    """True unless TF_CONFIG names this process a worker other than the first (or a non-chief)."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0 and "chief" not in config.get("cluster", {})
