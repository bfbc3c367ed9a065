"""A trained model on NumPy arrays, in batches: outputs, class probabilities, predicted classes.
Light imports only, so the visualization and attack libraries can share it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import keras
import numpy as np

BATCH = 256  # examples per call: bounds memory on large inputs


def batched(fn: Callable, x: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    """`fn` applied to consecutive slices of `x`, results concatenated as one float32 array."""
    return np.concatenate([np.asarray(fn(x[s : s + batch_size]), np.float32) for s in range(0, len(x), batch_size)])


def probabilities(model: keras.Model, x: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    """Softmax of the logits in float32 (whatever the precision policy), (N, classes); a single
    logit (an edge map's) is a probability through the sigmoid."""

    def scores(part):
        logits = keras.ops.cast(model(part, training=False), "float32")
        return keras.ops.sigmoid(logits) if logits.shape[-1] == 1 else keras.ops.softmax(logits)

    return batched(scores, x, batch_size)


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
