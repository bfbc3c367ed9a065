"""A convolution with one output position: its window covers the whole (padded) input, so it is
the fully-connected layer it equals (LeNet's ``conv3``, a classifier head made fully
convolutional), and its forward pass and both VJPs are matrix products of the flattened window:

    y = rows(x) W,    dL/dW = rows(x)^T dy,    dL/dx = unrows(dy W^T)

with ``W`` the kernel as a (K1 * .. * Kr * C_in, filters) matrix -- the 1x1 convolutions of the
flattened window.
"""

from __future__ import annotations

import tensorflow as tf

from layers.ops.spatial import pad_or_crop

__all__ = ["forward", "input_vjp", "kernel_vjp"]


def _rows(x: tf.Tensor, window) -> tf.Tensor:
    """The one window of each example as a row: (N, K1 * .. * Kr * C_in)."""
    return tf.reshape(pad_or_crop(x, window), [tf.shape(x)[0], -1])


def _matrix(kernel: tf.Tensor) -> tf.Tensor:
    return tf.reshape(kernel, [-1, kernel.shape[-1]])


def forward(x: tf.Tensor, kernel: tf.Tensor, window) -> tf.Tensor:
    y = tf.matmul(_rows(x, window), _matrix(kernel))
    return tf.reshape(y, [-1, *[1] * len(window), kernel.shape[-1]])


def input_vjp(dy: tf.Tensor, kernel: tf.Tensor, window) -> tf.Tensor:
    rows = tf.matmul(tf.reshape(dy, [-1, kernel.shape[-1]]), _matrix(kernel), transpose_b=True)
    return pad_or_crop(tf.reshape(rows, [-1, *kernel.shape[:-1]]), [(-b, -a) for b, a in window])


def kernel_vjp(x: tf.Tensor, dy: tf.Tensor, kernel_spatial, window) -> tf.Tensor:
    product = tf.matmul(_rows(x, window), tf.reshape(dy, [-1, dy.shape[-1]]), transpose_a=True)
    return tf.reshape(product, [*kernel_spatial, x.shape[-1], dy.shape[-1]])
