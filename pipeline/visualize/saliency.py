"""Saliency maps (Simonyan, Vedaldi and Zisserman, "Deep inside convolutional networks", 2014):
how much each pixel moves the class score, |d logit_c / d x| with the maximum over channels;
and SmoothGrad (Smilkov et al. 2017), the same averaged over noisy copies of the image."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.visualize._common import as_batch, class_indices, float32


def input_gradient(model: keras.Model, x, classes: np.ndarray) -> np.ndarray:
    """d logit_{classes[i]} / d x_i for every example: (N, H, W, C)."""
    x = as_batch(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = float32(model(x, training=False))
        score = tf.reduce_sum(tf.gather(logits, classes, axis=-1, batch_dims=1))
    return tape.gradient(score, x).numpy()


def saliency(model: keras.Model, x, class_index=None) -> np.ndarray:
    """max over channels of |d logit_c / d x|, (N, H, W); `class_index=None`: the predicted class."""
    classes = class_indices(model, np.asarray(x), class_index)
    return np.abs(input_gradient(model, x, classes)).max(axis=-1)


def smoothgrad(
    model: keras.Model, x, class_index=None, samples: int = 25, noise: float = 0.15, seed: int = 0
) -> np.ndarray:
    """Saliency averaged over `samples` copies with Gaussian noise of std `noise` x the value range."""
    x = np.asarray(x, np.float32)
    classes = class_indices(model, x, class_index)
    spread = noise * float(x.max() - x.min() or 1.0)
    rng = np.random.default_rng(seed)
    total = np.zeros(x.shape, np.float32)
    for _ in range(samples):
        total += np.abs(input_gradient(model, x + rng.normal(0.0, spread, x.shape).astype(np.float32), classes))
    return (total / samples).max(axis=-1)
