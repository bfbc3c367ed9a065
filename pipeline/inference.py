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
    return np.concatenate([np.asarray(fn(x[s : s + batch_size]), np.float32) for s in range(0, len(x), batch_size)])


def probabilities(model: keras.Model, x: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    """Softmax of the logits in float32 (whatever the precision policy), (N, classes); a single
    logit (an edge map's) is a probability through the sigmoid."""

    return batched(_compiled_scores(model), x, batch_size)


_SCORES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled_scores(model: keras.Model) -> Callable:
    """The model's float32 probabilities as one traced function per model (kept while the model
    lives; it reads the model's variables, so new weights need no retrace): the perturbed
    batches of the visualization methods and metrics skip eager per-op overhead."""
    if model not in _SCORES:

        def scores(part):
            logits = tf.cast(model(part, training=False), tf.float32)
            return tf.sigmoid(logits) if logits.shape[-1] == 1 else tf.nn.softmax(logits)

        _SCORES[model] = tf.function(scores, reduce_retracing=True)
    return _SCORES[model]


def index_batches(count: int, batch_size: int = BATCH) -> Iterator[np.ndarray]:
    """The indices 0, ..., count - 1 as consecutive batches of at most `batch_size`."""
    for start in range(0, count, batch_size):
        yield np.arange(start, min(start + batch_size, count))


def probabilities_of_copies(
    model: keras.Model, build: Callable[[np.ndarray], np.ndarray], count: int, classes: np.ndarray, batch_size: int
) -> np.ndarray:
    """(count,): the probability of `classes[i]` for the i-th of `count` images that `build(indices)`
    makes (perturbed or masked copies), made and scored one batch at a time: never more than
    `batch_size` copies in memory or in the model."""
    parts = [
        probabilities(model, build(index), batch_size)[np.arange(len(index)), classes[index]]
        for index in index_batches(count, batch_size)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def predicted_classes(model: keras.Model, x: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    return np.argmax(batched(lambda part: model(part, training=False), x, batch_size), axis=-1)


def predictions_and_labels(model: keras.Model, dataset: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """Predicted classes and true labels over a dataset of (images, labels) batches."""
    labels, predictions = [], []
    for x, y in dataset:
        labels.append(np.asarray(y))
        predictions.append(predicted_classes(model, np.asarray(x)))
    return np.concatenate(predictions), np.concatenate(labels)
