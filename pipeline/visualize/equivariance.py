"""Translation equivariance and local invariance, as numbers (the lecture: parameter sharing
makes a conv layer equivariant to translation, f(g(x)) = g(f(x)); pooling makes features
locally invariant). Shifts are circular, so only the layers' own border handling breaks them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.visualize.arrays import as_batch, float32
from pipeline.visualize.layer_graph import (
    layer_output,
    pooling_layers,
    spatial_layers,
    submodel,
)
from pipeline.visualize.methods import Context, method
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


def equivariance_figure(results: Sequence) -> plt.Figure:
    """Per layer: the equivariance error (shift by one output cell) and the change under a
    one-pixel shift (lower after pooling = more invariant)."""
    fig, axis = plt.subplots(figsize=(max(5.0, 0.7 * len(results) + 2), 3.6))
    where = np.arange(len(results))
    axis.bar(where - 0.2, [r.equivariance_error for r in results], 0.4, label="equivariance error (shift by stride)")
    axis.bar(where + 0.2, [r.invariance_change for r in results], 0.4, label="change under a 1-pixel shift")
    axis.set_xticks(where, [f"{r.layer}\n(stride {r.stride[0]})" for r in results], fontsize=7, rotation=30)
    axis.set_ylabel("relative L2 difference")
    axis.set_title("Translation equivariance and local invariance", fontsize=10)
    axis.legend(fontsize=7)
    axis.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


@method("equivariance", "maps", conv=True)
def equivariance_panel(c: Context) -> list[Panel]:
    chosen = set(c.layers) | set(pooling_layers(c.model))
    names = [n for n in spatial_layers(c.model) if n in chosen and min(layer_output(c.model, n).shape[1:3]) >= 2][:8]
    results = [equivariance(c.model, c.shown, name) for name in names]
    for r in results:
        c.metrics |= {
            f"equivariance_error/{r.layer}": r.equivariance_error,
            f"invariance_change/{r.layer}": r.invariance_change,
        }
    return [
        Panel(
            "equivariance",
            equivariance_figure(results),
            "Shifting the input by a layer's stride shifts its maps "
            "(equivariance); pooling damps one-pixel shifts (invariance).",
        )
    ]
