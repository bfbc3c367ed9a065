"""What training minimises and counts for each target a dataset offers (`dataset.target`, the
names of `pipeline.data.load.TARGETS`): the one registry the training loop looks targets up in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from pipeline.registry import Registry


@dataclass(frozen=True)
class Objective:
    """loss: (targets, float32 outputs) -> (N,) per-example loss; hits: the same -> (N,) share of
    each example predicted right (pixels for masks), or None where accuracy has no meaning."""

    loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    hits: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] | None


def _per_example(values: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """Averaged over everything but the batch axis (a mask's pixels, an image's values)."""
    return tf.reduce_mean(tf.reshape(values, [count, -1]), axis=1)


def _cross_entropy(y, outputs):
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y, tf.int32), outputs)
    return _per_example(losses, tf.shape(y)[0])


def _class_hits(y, outputs):
    hits = tf.equal(tf.argmax(outputs, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32))
    return _per_example(tf.cast(hits, tf.float32), tf.shape(y)[0])


def _squared_error(y, outputs):
    return _per_example(tf.square(outputs - tf.cast(y, tf.float32)), tf.shape(y)[0])


def _same_logit(outputs) -> tf.Tensor:
    return tf.reshape(outputs, [-1])


def _pair_cross_entropy(y, outputs):
    """Binary cross-entropy of the "same class" logit (Koch, Zemel and Salakhutdinov 2015)."""
    return tf.nn.sigmoid_cross_entropy_with_logits(tf.cast(tf.reshape(y, [-1]), tf.float32), _same_logit(outputs))


def _pair_hits(y, outputs):
    return tf.cast(tf.equal(_same_logit(outputs) > 0, tf.reshape(y, [-1]) > 0), tf.float32)


OBJECTIVES: Registry[Objective] = Registry("dataset.target")
OBJECTIVES.register("label", Objective(_cross_entropy, _class_hits))
OBJECTIVES.register("mask", Objective(_cross_entropy, _class_hits))
OBJECTIVES.register("image", Objective(_squared_error, None))
OBJECTIVES.register("pair", Objective(_pair_cross_entropy, _pair_hits))
