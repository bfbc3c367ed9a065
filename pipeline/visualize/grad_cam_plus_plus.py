"""Grad-CAM++ (Chattopadhay, Sarkar, Howlader and Balasubramanian, WACV 2018): Grad-CAM whose
channel weights are a weighted sum of the positive gradients, each position weighted by
alpha = g^2 / (2 g^2 + sum_ab A_ab g^3) (the closed form for an exponential of the class score),
so several instances of a class each get their share of the map."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.visualize._common import as_batch
from pipeline.visualize.grad_cam import maps_and_gradients, weighted_maps


def grad_cam_plus_plus(model: keras.Model, x, layer_name: str | None = None, class_index=None) -> np.ndarray:
    """(N, H, W) in [0, 1] at the input's size; `layer_name` None: the last convolutional layer;
    `class_index` None: the predicted class."""
    x = as_batch(x)
    maps, g = maps_and_gradients(model, x, layer_name, class_index)
    denominator = 2 * g**2 + tf.reduce_sum(maps, axis=(1, 2), keepdims=True) * g**3
    alpha = tf.where(g != 0, g**2 / tf.where(denominator != 0, denominator, 1.0), 0.0)
    weights = tf.reduce_sum(alpha * tf.nn.relu(g), axis=(1, 2), keepdims=True)
    return weighted_maps(weights, maps, x.shape[1:3])
