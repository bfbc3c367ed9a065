"""tf.distribute strategies by name, who is the chief worker (the one that logs), what several
workers agree on, and a lost worker as an error."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator

import tensorflow as tf

from pipeline.errors import ConfigError, UserError
from pipeline.registry import Registry


class LostWorkerError(RuntimeError, UserError):
    """A collective failed because a worker of the cluster is gone."""


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


def several_workers(strategy: tf.distribute.Strategy) -> bool:
    """Whether the strategy spans several processes, whose collectives must pair up."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def gathering(strategy: tf.distribute.Strategy) -> Callable[[float], list[float]] | None:
    """For a strategy over several processes (`MultiWorkerMirroredStrategy`): a function giving
    every worker's value of a number, the same list on every worker (one all-gather), for what
    the workers must agree on. None for one process."""
    if not several_workers(strategy):
        return None

    def replica(value: tf.Tensor) -> tf.Tensor:
        return tf.distribute.get_replica_context().all_gather(value[None], axis=0)

    @tf.function
    def gather(value: tf.Tensor) -> tf.Tensor:
        return strategy.experimental_local_results(strategy.run(replica, args=(value,)))[0]

    return lambda value: [float(v) for v in gather(tf.constant(value, tf.float32))]


@contextlib.contextmanager
def lost_workers(strategy: tf.distribute.Strategy) -> Iterator[None]:
    """Under several workers, a collective that fails because a peer is gone (killed, its
    machine down) ends as `LostWorkerError`: one line naming the peer and how to go on."""
    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.CancelledError) as error:
        if not several_workers(strategy):
            raise
        peer = re.search(r"/job:\w+/replica:\d+/task:\d+", error.message)
        reason = next((line.strip() for line in error.message.splitlines() if "aborted by" in line), "")
        raise LostWorkerError(
            f"Lost {'worker ' + peer.group(0) if peer else 'a worker'} ({reason or type(error).__name__}); this "
            "worker stopped too. Start every worker again with trainer.resume=true: they go on from the last "
            "checkpoint all of them hold."
        ) from None
