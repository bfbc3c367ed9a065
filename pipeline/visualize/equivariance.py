"""Translation equivariance and local invariance, as numbers (the lecture: parameter sharing
makes a conv layer equivariant to translation, f(g(x)) = g(f(x)); pooling makes features
locally invariant). Shifts are circular, so only the layers' own border handling breaks them."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

from pipeline.visualize._common import as_batch, float32, submodel
from pipeline.visualize.receptive_field import geometry


@dataclass(frozen=True)
class Equivariance:
    """equivariance_error: ||f(shift_s x) - shift_1 f(x)|| / ||f(x)|| with s the layer's total
    stride (one step of its output grid); invariance_change: ||f(shift_1px x) - f(x)|| / ||f(x)||."""

    layer: str
    stride: tuple[int, int]
    equivariance_error: float
    invariance_change: float


def _relative(a: tf.Tensor, b: tf.Tensor) -> float:
    return float(tf.norm(a - b) / tf.maximum(tf.norm(b), 1e-12))


def equivariance(model: keras.Model, x, layer_name: str) -> Equivariance:
    """How `layer_name`'s maps move with the input: shifted by one output cell (its total
    stride, down and right), and by one pixel."""
    probe = submodel(model, [layer_name])
    x = as_batch(x)
    if len(probe.output.shape) != 4 or min(probe.output.shape[1:3]) < 2:
        raise ValueError(
            f"Layer {layer_name!r} has no spatial output of at least 2x2: equivariance needs (N, h, w, c) maps."
        )
    stride = tuple(int(s) for s in geometry(model)[layer_name][1])

    def maps(images: tf.Tensor) -> tf.Tensor:
        return float32(probe(images, training=False))

    plain = maps(x)
    moved = maps(tf.roll(x, stride, axis=[1, 2]))
    nudged = maps(tf.roll(x, [1, 1], axis=[1, 2]))
    expected = tf.roll(plain, [1, 1], axis=[1, 2])
    error = _relative(moved[:, 1:, 1:], expected[:, 1:, 1:])  # row and column 0 hold what wrapped around
    return Equivariance(layer_name, stride, error, _relative(nudged, plain))
