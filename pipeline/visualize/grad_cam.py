"""Grad-CAM (Selvaraju et al., "Grad-CAM: visual explanations from deep networks via
gradient-based localization", ICCV 2017): the feature maps of a conv layer weighted by the
spatial mean of the class score's gradient, rectified, upsampled to the input, scaled to [0, 1]."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.inference import index_batches, traced
from pipeline.visualize.arrays import as_batch, class_indices, float32
from pipeline.visualize.layer_graph import (
    last_conv_layer,
    submodel,
)
from pipeline.visualize.methods import ATTRIBUTIONS, Context, heatmap_panel, method


def grad_cam(
    model: keras.Model, x, layer_name: str | None = None, class_index=None, batch_size: int = 256
) -> np.ndarray:
    """Class activation maps, (N, H, W) in [0, 1] at the input's size.

    Args:
        layer_name: a layer with a spatial output; None: the last convolutional layer.
        class_index: the class to explain; None: the predicted class.
        batch_size: images per forward and backward pass.
    """
    return cams(model, x, layer_name, class_index, batch_size, _mean_gradient)


def _mean_gradient(maps: tf.Tensor, grads: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(grads, axis=(1, 2), keepdims=True)


def cams(model: keras.Model, x, layer_name, class_index, batch_size: int, weigh: Callable) -> np.ndarray:
    """The CAM family, one batch at a time: `weigh(A, dscore_c/dA) -> (n, 1, 1, K)` channel weights
    (float32 (n, h, w, K) in; the gradient taken at the layer's own output, float16 under mixed
    precision, then cast), then `weighted_maps`."""
    x = as_batch(x).numpy()
    classes = class_indices(model, x, class_index, batch_size)
    layer, gradients = layer_name or last_conv_layer(model), traced(model, _maps_and_gradients)
    parts = []
    for index in index_batches(len(x), batch_size):
        maps, grads = gradients(tf.constant(x[index]), tf.constant(classes[index], tf.int32), layer)
        parts.append(weighted_maps(weigh(maps, grads), maps, x.shape[1:3]))
    return np.concatenate(parts)


def _maps_and_gradients(model: keras.Model, x: tf.Tensor, classes: tf.Tensor, layer: str) -> tuple:
    """The layer's maps and d logit_c / d maps, float32; traced once per model and layer."""
    probe = submodel(model, [layer], with_logits=True)
    with tf.GradientTape() as tape:
        maps, logits = probe(x, training=False)
        score = tf.reduce_sum(tf.gather(float32(logits), classes, axis=-1, batch_dims=1))
    return float32(maps), float32(tape.gradient(score, maps))


def weighted_maps(weights: tf.Tensor, maps: tf.Tensor, size) -> np.ndarray:
    """relu(sum_k weights_k A_k), upsampled (bilinear) to `size` and scaled to a peak of 1:
    (N, H, W); `weights` (N, 1, 1, K)."""
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, size, method="bilinear")[..., 0].numpy()
    peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)


@ATTRIBUTIONS.register("grad_cam")
def _grad_cam_attribution(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return grad_cam(model, x, class_index=class_index, batch_size=batch_size)


@method("grad_cam", "attribution", classifier=True, conv=True)
def grad_cam_panel(c: Context) -> list[Panel]:
    layer = last_conv_layer(c.model)
    title = f"Grad-CAM at {layer}, predicted class"
    caption = f"Where {layer}'s maps carry evidence for the predicted class, upsampled over the image."
    return heatmap_panel(c, "grad_cam", grad_cam(c.model, c.shown, layer), title, "class activation", caption)
