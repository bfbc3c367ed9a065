"""A trained model on NumPy arrays, in batches: outputs, class probabilities, predicted classes.
Light imports only, so the visualization and attack libraries can share it."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf

BATCH = 256  # examples per call: bounds memory on large inputs


def batched(fn: Callable, x: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    """`fn` applied to consecutive slices of `x`, results concatenated as one float32 array."""
    parts = [fn(x[i[0] : i[-1] + 1]) for i in index_batches(len(x), batch_size)]
    return np.concatenate([np.asarray(part, np.float32) for part in parts])


def probabilities(model: keras.Model, x: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    """Softmax of the logits in float32 (whatever the precision policy), (N, classes); a single
    logit (an edge map's) is a probability through the sigmoid."""
    return batched(traced(model, _scores), x, batch_size)


def _scores(model: keras.Model, part: tf.Tensor) -> tf.Tensor:
    logits = tf.cast(model(part, training=False), tf.float32)
    return tf.sigmoid(logits) if logits.shape[-1] == 1 else tf.nn.softmax(logits)


_TRACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class CountedApart:
    """`fn(*args)` as an object of its own, to hand to `tf.function`: TensorFlow counts a plain
    function's or a method's traces by its code, shared by every closure and every instance, and
    warns of retracing when many objects each trace once; an object is counted by itself."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


def model_cache(model: keras.Model) -> dict:
    """A dict that lives as long as `model` and no longer (the cache never keeps a model alive):
    where the functions traced for a model are kept."""
    return _TRACED.setdefault(model, {})


def traced(model: keras.Model, fn: Callable) -> Callable:
    """`fn(model, *args)` as one `tf.function` per model and `fn`, kept while the model lives: the
    perturbed batches of the visualization methods and metrics skip eager per-op overhead. It
    reads the model's variables, so new weights (the randomization check's) need no retrace; it
    holds the model weakly, so the cache never keeps a model alive. Non-tensor arguments (a
    layer's name, a score function) are part of what a trace is for: one trace per value."""
    per_model = model_cache(model)
    if fn not in per_model:
        ref = weakref.ref(model)
        per_model[fn] = tf.function(CountedApart(lambda *args: fn(ref(), *args)), reduce_retracing=True)
    return per_model[fn]


def index_batches(count: int, batch_size: int = BATCH) -> Iterator[np.ndarray]:
    """The indices 0, ..., count - 1 as consecutive batches of at most `batch_size`."""
    for start in range(0, count, batch_size):
        yield np.arange(start, min(start + batch_size, count))


def logits(model: keras.Model, x: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    """The model's outputs (the scores before any softmax) in float32, (N, classes)."""
    return batched(traced(model, _logits), x, batch_size)


def _logits(model: keras.Model, part: tf.Tensor) -> tf.Tensor:
    return tf.cast(model(part, training=False), tf.float32)


CLASS_SCORES = {"probability": probabilities, "logit": logits}  # what "a class's score" can mean


def scores_of_copies(
    model: keras.Model,
    build: Callable[[np.ndarray], np.ndarray],
    count: int,
    classes: np.ndarray,
    batch_size: int,
    score: str = "probability",
) -> np.ndarray:
    """(count,): the score (`CLASS_SCORES`: probability or logit) of `classes[i]` for the i-th of
    `count` images that `build(indices)` makes (perturbed or masked copies), made and scored one
    batch at a time: never more than `batch_size` copies in memory or in the model."""
    scores = CLASS_SCORES[score]
    parts = [
        scores(model, build(index), batch_size)[np.arange(len(index)), classes[index]]
        for index in index_batches(count, batch_size)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def predicted_classes(model: keras.Model, x: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    return np.argmax(batched(lambda part: model(part, training=False), x, batch_size), axis=-1)


def predictions_and_labels(model: keras.Model, dataset: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """Predicted classes and true labels over a dataset of (images, labels) batches."""
    outputs, labels = outputs_and_targets(model, dataset)
    return np.argmax(outputs, axis=-1), labels


def outputs_and_targets(model: keras.Model, dataset: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """The model's float32 outputs and the targets over a dataset of (inputs, targets) batches."""
    outputs, targets = [], []
    for x, y in dataset:
        targets.append(np.asarray(y))
        outputs.append(batched(lambda part: model(part, training=False), np.asarray(x)))
    return np.concatenate(outputs), np.concatenate(targets)
