"""What differs between L-infinity and L2 attacks (foolbox's habit): the steepest step
direction, the projection back into the eps-ball, and a random start inside it."""

from __future__ import annotations

import tensorflow as tf

from pipeline.attacks import randomness


def _norm2(v: tf.Tensor) -> tf.Tensor:
    """Per-example L2 norm, shaped to broadcast over v."""
    axes = list(range(1, v.shape.rank))
    return tf.sqrt(tf.reduce_sum(tf.square(v), axis=axes, keepdims=True) + 1e-24)


class LinfNorm:
    @staticmethod
    def direction(grad: tf.Tensor) -> tf.Tensor:
        return tf.sign(grad)

    @staticmethod
    def project(delta: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
        return tf.clip_by_value(delta, -eps, eps)

    @staticmethod
    def random(x: tf.Tensor, eps: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
        """Uniform in the ball, drawn per example from its key (`randomness`)."""
        return randomness.uniform(keys, tf.shape(x)[1:], 0, -1.0, 1.0) * eps

    @staticmethod
    def size(delta: tf.Tensor) -> tf.Tensor:
        return tf.reduce_max(tf.abs(tf.reshape(delta, [tf.shape(delta)[0], -1])), axis=1)


class L2Norm:
    @staticmethod
    def direction(grad: tf.Tensor) -> tf.Tensor:
        return grad / _norm2(grad)

    @staticmethod
    def project(delta: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
        return delta * tf.minimum(1.0, eps / _norm2(delta))

    @staticmethod
    def random(x: tf.Tensor, eps: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
        """Uniform in the ball: a Gaussian direction, radius eps * u^(1/d), per example from its key."""
        direction = randomness.normal(keys, tf.shape(x)[1:], 0)
        dims = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
        radius = randomness.uniform(keys, tf.shape(eps)[1:], 1) ** (1.0 / dims)
        return direction / _norm2(direction) * radius * eps

    @staticmethod
    def size(delta: tf.Tensor) -> tf.Tensor:
        return tf.reshape(_norm2(delta), [-1])


NORMS = {"inf": LinfNorm, "2": L2Norm}


def norm(name: str):
    if str(name) not in NORMS:
        raise ValueError(f"Invalid value for argument `norm`. Expected one of {list(NORMS)}. Received: norm={name!r}")
    return NORMS[str(name)]
