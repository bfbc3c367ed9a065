"""Grad-CAM (Selvaraju et al., "Grad-CAM: visual explanations from deep networks via
gradient-based localization", ICCV 2017): the feature maps of a conv layer weighted by the
spatial mean of the class score's gradient, rectified, upsampled to the input, scaled to [0, 1]."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.visualize._common import as_batch, class_indices, float32, last_conv_layer, submodel


def grad_cam(model: keras.Model, x, layer_name: str | None = None, class_index=None) -> np.ndarray:
    """Class activation maps, (N, H, W) in [0, 1] at the input's size.

    Args:
        layer_name: a layer with a spatial output; None: the last convolutional layer.
        class_index: the class to explain; None: the predicted class.
    """
    x = as_batch(x)
    maps, grads = maps_and_gradients(model, x, layer_name, class_index)
    return weighted_maps(tf.reduce_mean(grads, axis=(1, 2), keepdims=True), maps, x.shape[1:3])


def maps_and_gradients(model: keras.Model, x: tf.Tensor, layer_name, class_index) -> tuple[tf.Tensor, tf.Tensor]:
    """The layer's feature maps A and d score_c / d A, both float32 (N, h, w, K)."""
    classes = class_indices(model, x.numpy(), class_index)
    probe = submodel(model, [layer_name or last_conv_layer(model)], with_logits=True)
    with tf.GradientTape() as tape:
        tape.watch(x)
        maps, logits = probe(x, training=False)
        score = tf.reduce_sum(tf.gather(float32(logits), classes, axis=-1, batch_dims=1))
    # The gradient is taken at the layer's own output (float16 under mixed precision), then cast.
    return float32(maps), float32(tape.gradient(score, maps))


def weighted_maps(weights: tf.Tensor, maps: tf.Tensor, size) -> np.ndarray:
    """relu(sum_k weights_k A_k), upsampled (bilinear) to `size` and scaled to a peak of 1:
    (N, H, W); `weights` (N, 1, 1, K)."""
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, size, method="bilinear")[..., 0].numpy()
    peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)
