"""Small array helpers the methods share: the test cap on optimisation steps, float32 scores,
one class per example, a checked image batch, per-map scaling to [0, 1]."""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from pipeline.inference import predicted_classes

# Tests (and impatient users) cap every optimisation loop with this environment variable.
MAX_STEPS_ENV = "CONVNET_VIS_MAX_STEPS"


def capped(steps: int) -> int:
    """`steps`, or fewer when $CONVNET_VIS_MAX_STEPS says so."""
    cap = os.environ.get(MAX_STEPS_ENV)
    return min(steps, int(cap)) if cap else steps


def float32(tensor) -> tf.Tensor:
    """Scores and activations in float32, whatever the model's precision policy."""
    return tf.cast(tensor, tf.float32)


def class_indices(model: keras.Model, x: np.ndarray, class_index, batch_size: int = 256) -> np.ndarray:
    """One class per example: the prediction when `class_index` is None, else broadcast."""
    if class_index is None:
        return predicted_classes(model, x, batch_size)
    return np.broadcast_to(np.asarray(class_index, dtype=np.int32), (len(x),)).copy()


def as_batch(x) -> tf.Tensor:
    x = tf.convert_to_tensor(x, tf.float32)
    if x.shape.rank != 4:
        raise ValueError(f"Expected a batch of images (N, H, W, C). Received: x.shape={tuple(x.shape)}")
    return x


def unit_range(maps: np.ndarray) -> np.ndarray:
    """Each map (axes 1 and 2 of (N, H, W, ...)) min-max scaled to [0, 1]; a flat map becomes 0."""
    low, high = maps.min(axis=(1, 2), keepdims=True), maps.max(axis=(1, 2), keepdims=True)
    return np.where(high > low, (maps - low) / np.where(high > low, high - low, 1.0), 0.0).astype(np.float32)
