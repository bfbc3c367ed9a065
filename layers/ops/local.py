"""The locally connected layer's math: a convolution whose weights differ at every position."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from layers.ops import geometry as g
from layers.ops.convolution import correlate, input_vjp_at
from layers.ops.routing import routed, stopped

__all__ = ["local_conv"]


def _identity_kernel(kernel_size, channels: int, dtype) -> tf.Tensor:
    """A kernel whose convolution copies each window into the channels (im2col as a conv)."""
    size = int(np.prod(kernel_size)) * channels
    return tf.constant(np.eye(size).reshape((*kernel_size, channels, size)), dtype=dtype)


def local_conv(x, kernel, kernel_size, strides=1, padding="valid") -> tf.Tensor:
    """Locally connected layer: a convolution whose weights differ at every output position.

    Args:
        x: `(batch, *spatial, in_channels)`.
        kernel: `(num_positions, prod(kernel_size) * in_channels, filters)`, positions row-major.

    The windows are cut out by a convolution with an identity kernel, so their backward pass
    (adding window gradients back onto the input) is that convolution's input VJP.
    """
    x = tf.convert_to_tensor(x)
    kernel = tf.convert_to_tensor(kernel, dtype=x.dtype)
    rank = x.shape.rank - 2
    kernel_size = g.normalize_tuple(kernel_size, rank, "kernel_size")
    geo = g.conv_geometry(x.shape[1:-1], kernel_size, strides, padding)
    eye = _identity_kernel(kernel_size, x.shape[-1], x.dtype)

    patches = correlate(x, eye, geo.strides, geo.pads, geo.dilation)
    flat = tf.reshape(patches, [-1, kernel.shape[0], kernel.shape[1]])
    y = tf.einsum("nlj,ljf->nlf", *stopped(flat, kernel))

    def input_vjp(dy):
        d_patches = tf.einsum("nlf,ljf->nlj", tf.reshape(dy, tf.shape(y)), kernel)
        return input_vjp_at(tf.reshape(d_patches, tf.shape(patches)), eye, tf.shape(x), x.shape[1:-1], geo)

    def kernel_vjp(dy):
        return tf.einsum("nlj,nlf->ljf", flat, tf.reshape(dy, tf.shape(y)))

    out_shape = tf.concat([tf.shape(x)[:1], patches.shape[1:-1], [kernel.shape[-1]]], axis=0)
    return routed(tf.reshape(y, out_shape), [(x, input_vjp), (kernel, kernel_vjp)])
