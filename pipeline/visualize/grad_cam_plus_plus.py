"""Grad-CAM++ (Chattopadhay, Sarkar, Howlader and Balasubramanian, WACV 2018): Grad-CAM whose
channel weights are a weighted sum of the positive gradients, each position weighted by
alpha = g^2 / (2 g^2 + sum_ab A_ab g^3) (the closed form for an exponential of the class score),
so several instances of a class each get their share of the map."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.visualize.grad_cam import cams
from pipeline.visualize.methods import ATTRIBUTIONS, Context, heatmap_panel, method


def grad_cam_plus_plus(
    model: keras.Model, x, layer_name: str | None = None, class_index=None, batch_size: int = 256
) -> np.ndarray:
    """(N, H, W) in [0, 1] at the input's size; `layer_name` None: the last convolutional layer;
    `class_index` None: the predicted class; `batch_size` images per forward and backward pass."""
    return cams(model, x, layer_name, class_index, batch_size, _positive_gradient_weights)


def _positive_gradient_weights(maps: tf.Tensor, g: tf.Tensor) -> tf.Tensor:
    denominator = 2 * g**2 + tf.reduce_sum(maps, axis=(1, 2), keepdims=True) * g**3
    alpha = tf.where(g != 0, g**2 / tf.where(denominator != 0, denominator, 1.0), 0.0)
    return tf.reduce_sum(alpha * tf.nn.relu(g), axis=(1, 2), keepdims=True)


@ATTRIBUTIONS.register("grad_cam_plus_plus")
def _grad_cam_plus_plus_attribution(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return grad_cam_plus_plus(model, x, class_index=class_index, batch_size=batch_size)


@method("grad_cam_plus_plus", "attribution", classifier=True, conv=True)
def grad_cam_plus_plus_panel(c: Context) -> list[Panel]:
    maps = grad_cam_plus_plus(c.model, c.shown, batch_size=c.settings.faithfulness.batch_size)
    caption = "Grad-CAM++: the last conv layer's maps weighted by their positive gradients, position by position."
    return heatmap_panel(c, "grad_cam_plus_plus", maps, "Grad-CAM++", "class activation", caption)
