"""Per-example random numbers: each example carries a 32-bit key, and every draw for it is a hash
of (key, counter, element), so an example's random start or random square does not depend on the
batch it is in, its place there, or how many examples came before it (a counter-based generator,
like Philox, small enough to run inside any graph and under XLA).

The hash is Wellons' `lowbias32` (an integer finaliser whose bits pass the usual avalanche tests).

>>> keys = batch_keys(tf.constant([3, 4], tf.int64), 5)      # one key per example of a batch
>>> u = uniform(keys, [32, 32, 1], counter=0)                  # (5, 32, 32, 1) in [0, 1)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from pipeline.example_keys import content_keys

__all__ = ["batch_keys", "content_keys", "derive", "mix", "normal", "uniform"]

_M1, _M2 = 0x7FEB352D, 0x846CA68B
_GOLDEN = 0x9E3779B9  # spreads consecutive counters before they are hashed


def mix(h: tf.Tensor) -> tf.Tensor:
    """lowbias32: a uint32 -> uint32 hash."""
    shift = tf.bitwise.right_shift
    h = tf.bitwise.bitwise_xor(h, shift(h, tf.constant(16, tf.uint32)))
    h = h * tf.constant(_M1, tf.uint32)
    h = tf.bitwise.bitwise_xor(h, shift(h, tf.constant(15, tf.uint32)))
    h = h * tf.constant(_M2, tf.uint32)
    return tf.bitwise.bitwise_xor(h, shift(h, tf.constant(16, tf.uint32)))


def _u32(value) -> tf.Tensor:
    """An integer tensor or number as uint32 (its low 32 bits)."""
    value = tf.convert_to_tensor(value)
    return tf.cast(tf.bitwise.bitwise_and(tf.cast(value, tf.int64), 0xFFFFFFFF), tf.uint32)


def derive(keys: tf.Tensor, counter) -> tf.Tensor:
    """New keys, one per example, for the `counter`-th independent stream (a restart, a query)."""
    return mix(tf.bitwise.bitwise_xor(keys, mix(_u32(counter) * tf.constant(_GOLDEN, tf.uint32) + 1)))


def batch_keys(seed: tf.Tensor, n) -> tf.Tensor:
    """(n,) keys from a stateless seed (2 integers) and each example's row in the batch."""
    seed = _u32(seed)
    base = mix(tf.bitwise.bitwise_xor(mix(seed[0]), seed[1] * tf.constant(_GOLDEN, tf.uint32)))
    return derive(tf.fill([n], base), tf.range(n))


def uniform(keys: tf.Tensor, shape, counter=0, low: float = 0.0, high: float = 1.0) -> tf.Tensor:
    """(N, *shape) float32, uniform in [low, high): element i of example n hashes (keys[n], counter, i).
    `keys` and `counter` broadcast: keys (1, N) and counters (S, 1) give (S, N, *shape), row s
    the draws of counter s."""
    shape = tf.convert_to_tensor(shape, tf.int32)
    size = tf.reduce_prod(shape)
    streams = derive(keys, counter)
    bits = mix(tf.bitwise.bitwise_xor(streams[..., None], mix(_u32(tf.range(size)) + tf.constant(_M2, tf.uint32))))
    unit = tf.cast(tf.bitwise.right_shift(bits, tf.constant(8, tf.uint32)), tf.float32) * (1.0 / 2**24)
    return tf.reshape(low + (high - low) * unit, tf.concat([tf.shape(streams), shape], 0))


def normal(keys: tf.Tensor, shape, counter=0) -> tf.Tensor:
    """(N, *shape) standard normal draws (Box-Muller on two uniform streams)."""
    u1 = uniform(keys, shape, (2 * tf.cast(counter, tf.int64) + 1) * 65537, 2.0**-25, 1.0)
    u2 = uniform(keys, shape, (2 * tf.cast(counter, tf.int64) + 2) * 65537)
    return tf.sqrt(-2.0 * tf.math.log(u1)) * tf.cos(2.0 * np.pi * u2)
