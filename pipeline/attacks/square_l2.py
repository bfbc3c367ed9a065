"""Square's L2 proposals (Andriushchenko et al. 2020, Algorithm 3), the perturbation always on the
eps-sphere: start from a grid of "meta pseudo-Gaussian" blocks with random signs; each query
takes two windows of the same side, moves the perturbation's mass in both into the first as a new
block of random sign added to what the first held, empties the second, and rescales the whole to
eps. A block is two concentric-square bumps of opposite sign (rows above and below the middle),
transposed for half the examples.
"""

from __future__ import annotations

import tensorflow as tf

from pipeline.attacks import randomness
from pipeline.attacks.square_windows import window

GRID = 5  # the starting grid: blocks of a fifth of the image's side


def bump(rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """(rows, cols): at Chebyshev distance d from the centre (rows // 2, cols // 2), the sum of
    1 / (k + 1)^2 for k = d ... K - 1 (K = max(rows, cols) // 2 + 1); unit L2 norm."""
    d = tf.maximum(
        tf.abs(tf.range(rows)[:, None] - rows // 2), tf.abs(tf.range(cols)[None, :] - cols // 2)
    )  # fmt: skip
    k = tf.cast(tf.range(tf.maximum(rows, cols) // 2 + 1), tf.float32)
    tail = tf.math.cumsum(1.0 / (k + 1.0) ** 2, reverse=True)  # tail[d] = sum over k >= d
    values = tf.gather(tail, d)
    return values / tf.norm(values)


def block(side: tf.Tensor) -> tf.Tensor:
    """(side, side): a bump over the upper rows, its negative over the lower ones; unit L2 norm."""
    upper = side // 2
    values = tf.concat([bump(upper, side), -bump(side - upper, side)], axis=0)
    return values / tf.norm(values)


def _unit(v: tf.Tensor, axes=(1, 2, 3)) -> tf.Tensor:
    return tf.sqrt(tf.reduce_sum(tf.square(v), axis=axes, keepdims=True))


def start(x: tf.Tensor, keys: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
    """The first perturbation: a grid of blocks of side min(H, W) // 5, each channel's sign random."""
    shape = tf.shape(x)
    height, width, channels = shape[1], shape[2], x.shape[-1]
    side = tf.maximum(tf.minimum(height, width) // GRID, 1)
    tile = block(side)
    rows, cols = tf.range(height) - (height - side * GRID) // 2, tf.range(width) - (width - side * GRID) // 2
    inside_rows, inside_cols = (rows >= 0) & (rows < side * GRID), (cols >= 0) & (cols < side * GRID)
    pattern = tf.gather(tf.gather(tile, tf.clip_by_value(rows % side, 0, side - 1)), cols % side, axis=1)
    pattern *= tf.cast(inside_rows[:, None] & inside_cols[None, :], tf.float32)
    signs = tf.where(randomness.uniform(keys, [GRID, GRID, channels], 0) < 0.5, -1.0, 1.0)
    cell_rows, cell_cols = tf.clip_by_value(rows // side, 0, GRID - 1), tf.clip_by_value(cols // side, 0, GRID - 1)
    signs = tf.gather(tf.gather(signs, cell_rows, axis=1), cell_cols, axis=2)  # (N, H, W, C)
    delta = pattern[None, :, :, None] * signs
    return delta / (_unit(delta) + 1e-12) * eps


def placed(tile: tf.Tensor, corner: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """(N, H, W, 1): `tile` (side, side) put at each example's corner (zero outside the window is
    the caller's mask)."""
    side = tf.shape(tile)[0]
    rows = tf.clip_by_value(tf.range(height)[None, :] - corner[:, :1], 0, side - 1)
    cols = tf.clip_by_value(tf.range(width)[None, :] - corner[:, 1:], 0, side - 1)
    return tf.gather(tf.gather(tile, rows), cols, axis=2, batch_dims=1)[..., None]


def draws(channels: int) -> int:
    """The uniform draws a proposal takes per example: two windows, a flip, a sign per channel."""
    return 5 + channels


def propose(x: tf.Tensor, best: tf.Tensor, draw: tf.Tensor, eps: tf.Tensor, side: tf.Tensor) -> tf.Tensor:
    """A candidate image (not yet clipped to the data range) from the current best; `draw`
    (N, `draws(channels)`) in [0, 1)."""
    shape = tf.shape(x)
    height, width, channels = shape[1], shape[2], x.shape[-1]
    first, corner = window(draw[:, 0:2], side, height, width)
    second, _ = window(draw[:, 2:4], side, height, width)
    tile = block(side)
    flip = draw[:, 4][:, None, None, None] < 0.5
    bumps = tf.where(flip, placed(tf.transpose(tile), corner, height, width), placed(tile, corner, height, width))
    delta = best - x
    channel_norm = lambda v: _unit(v, (1, 2))
    spare = tf.maximum(tf.square(eps) - tf.square(_unit(delta)), 0.0) / channels
    available = tf.sqrt(spare + tf.square(channel_norm(delta * tf.maximum(first, second))))
    signs = tf.where(draw[:, 5:] < 0.5, -1.0, 1.0)[:, None, None, :]
    new = (bumps * signs + delta * first / (channel_norm(delta * first) + 1e-10)) * first
    new = new / (channel_norm(new) + 1e-12) * available
    delta = tf.where(first > 0, new, delta * (1.0 - second))
    return x + delta / (_unit(delta) + 1e-12) * eps
