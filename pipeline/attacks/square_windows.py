"""Square's windows: squares of a given side at random places, as the rows and columns they
cover (cheap to draw for a whole segment of queries at once) or as a mask of the image."""

from __future__ import annotations

import tensorflow as tf


def lines(draw: tf.Tensor, side: tf.Tensor, size: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per draw in [0, 1) (any shape D), a span of `side` (broadcast to D) at a random place
    along an axis of `size`: (its first index D, whether each index is inside it (*D, size))."""
    start = tf.cast(draw * tf.cast(size - side + 1, tf.float32), tf.int32)
    index = tf.range(size)
    inside = (index >= start[..., None]) & (index < (start + side)[..., None])
    return start, inside


def window(draw: tf.Tensor, side: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per example, a window of `side` at a random place (two draws in [0, 1)): (mask (N, H, W, 1),
    the window's top-left corner (N, 2))."""
    top, rows = lines(draw[:, 0], side, height)
    left, cols = lines(draw[:, 1], side, width)
    return tf.cast(mask(rows, cols), tf.float32), tf.stack([top, left], axis=1)


def mask(rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """(N, H, W, 1) bool from the rows (N, H) and columns (N, W) a window covers."""
    return rows[:, :, None, None] & cols[:, None, :, None]
