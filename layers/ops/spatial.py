"""Small TensorFlow helpers on the spatial axes of channels-last tensors."""

from __future__ import annotations

import tensorflow as tf


def pad_or_crop(t: tf.Tensor, pairs, value=0) -> tf.Tensor:
    """Pad the spatial axes of ``t`` by ``(before, after)`` pairs; negative amounts crop."""
    if any(b < 0 or a < 0 for b, a in pairs):
        crops = [slice(max(-b, 0), t.shape[i + 1] - max(-a, 0)) for i, (b, a) in enumerate(pairs)]
        t = t[(slice(None), *crops, slice(None))]
    if any(b > 0 or a > 0 for b, a in pairs):
        widths = [[0, 0]] + [[max(b, 0), max(a, 0)] for b, a in pairs] + [[0, 0]]
        t = tf.pad(t, widths, constant_values=tf.cast(value, t.dtype))
    return t


def dilate(t: tf.Tensor, factors) -> tf.Tensor:
    """Insert ``factor - 1`` zeros between consecutive elements of each spatial axis."""
    for axis, f in enumerate(factors, start=1):
        if f == 1:
            continue
        n = t.shape[axis]
        stacked = tf.stack([t] + [tf.zeros_like(t)] * (f - 1), axis=axis + 1)
        shape = tf.concat([tf.shape(t)[:axis], [n * f], tf.shape(t)[axis + 1 :]], axis=0)
        t = tf.reshape(stacked, shape)[(slice(None),) * axis + (slice(0, (n - 1) * f + 1),)]
    return t


def expand_spatial(t: tf.Tensor, rank: int) -> tf.Tensor:
    """(N, O1, .., Or, C) -> (N, O1, 1, .., Or, 1, C): one singleton window axis per dimension."""
    for i in range(rank):
        t = tf.expand_dims(t, 2 + 2 * i)
    return t


def interleave(outer, inner) -> list:
    """[o1, i1, o2, i2, ...]: the shape of a tiled view with a window axis after each axis."""
    return [v for pair in zip(outer, inner) for v in pair]
