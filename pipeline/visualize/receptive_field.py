"""Receptive fields. The theoretical one follows from kernel sizes, strides and dilations (a
stack of three 3x3 convs sees 7x7); the effective one (Luo et al., "Understanding the effective
receptive field in deep convolutional neural networks", NeurIPS 2016) is measured: the gradient
of a central unit of a layer w.r.t. the input, and where it is non-zero."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel, grid
from pipeline.visualize.arrays import as_batch, float32
from pipeline.visualize.layer_graph import (
    graph,
    layer_output,
    parents,
    submodel,
    window,
)
from pipeline.visualize.methods import Context, method


@dataclass(frozen=True)
class ReceptiveField:
    """gradient: mean |d unit / d x| over the inputs, (H, W); measured: (rows, cols) of the box
    where it is non-zero; effective: side of the centred square holding 90% of it; theoretical:
    (rows, cols) from the layer geometry; stride: the layer's total stride (rows, cols)."""

    layer: str
    gradient: np.ndarray
    measured: tuple[int, int]
    effective: int
    theoretical: tuple[int, int]
    stride: tuple[int, int]


def _widening(model: keras.Model, layer: keras.layers.Layer):
    """The window through which `layer` widens what a unit sees, or None: layers without one,
    and upsampling layers (a transposed conv with stride > 1, unpooling), whose output is larger
    than their input and which do not widen the field in the encoder's sense."""
    found = window(layer)
    if found is None:
        return None
    g = graph(model)
    source = g.inputs[layer.name][0] if isinstance(g.inputs[layer.name], (list, tuple)) else g.inputs[layer.name]
    grows = any(
        o is not None and i is not None and o > i
        for i, o in zip(source.shape[1:3], layer_output(model, layer.name).shape[1:3])
    )
    return None if grows else found


def geometry(model: keras.Model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """layer name -> (theoretical receptive field, total stride), each (rows, cols), walking the
    graph from the input: r_out = r_in + (k - 1) * d * j_in, j_out = j_in * s; merges take the
    widest branch."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    ones = (np.ones(2, int), np.ones(2, int))
    reads = parents(model)
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inputs = [found[p] for p, _ in reads[layer.name] if p in found] or [ones]
        r_in = np.max([p[0] for p in inputs], axis=0)
        j_in = np.max([p[1] for p in inputs], axis=0)
        widening = _widening(model, layer)
        if widening is None:
            found[layer.name] = (r_in, j_in)
        else:
            k, s, d = widening
            found[layer.name] = (r_in + (k - 1) * d * j_in, j_in * s)
    return found


def _central_gradient(model: keras.Model, x: tf.Tensor, layer_name: str) -> np.ndarray:
    probe = submodel(model, [layer_name])
    with tf.GradientTape() as tape:
        tape.watch(x)
        maps = float32(probe(x, training=False))
        unit = tf.reduce_sum(maps[:, maps.shape[1] // 2, maps.shape[2] // 2, :])
    return np.abs(tape.gradient(unit, x).numpy()).sum(axis=-1).mean(axis=0)


def _effective_side(gradient: np.ndarray, share: float = 0.9) -> int:
    total = gradient.sum()
    rows, cols = np.unravel_index(np.argmax(gradient), gradient.shape)
    for half in range(max(gradient.shape)):
        box = gradient[max(rows - half, 0) : rows + half + 1, max(cols - half, 0) : cols + half + 1]
        if box.sum() >= share * total:
            return 2 * half + 1
    return max(gradient.shape)


def effective_receptive_field(model: keras.Model, layer_name: str, x) -> ReceptiveField:
    """Measure where the central unit of `layer_name` looks, averaged over the inputs `x`."""
    gradient = _central_gradient(model, as_batch(x), layer_name)
    rows, cols = np.nonzero(gradient > 0)
    measured = (int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1) if len(rows) else (0, 0)
    theoretical, stride = geometry(model)[layer_name]
    return ReceptiveField(
        layer_name,
        gradient,
        measured,
        _effective_side(gradient) if len(rows) else 0,
        tuple(int(v) for v in theoretical),
        tuple(int(v) for v in stride),
    )


def receptive_fields_figure(fields: Sequence) -> plt.Figure:
    """Per layer: the measured gradient map with the theoretical (dashed) and the non-zero
    (solid) extents drawn around the central unit."""
    fig, axes = grid(
        1, len(fields), "Receptive fields: |d central unit / d input|; dashed: theory, solid: measured", 1.0
    )
    fig.set_size_inches(2.4 * len(fields) + 1.0, 3.0)
    for axis, field in zip(axes[0], fields):
        shown = axis.imshow(field.gradient / max(field.gradient.max(), 1e-12), cmap="magma", vmin=0, vmax=1)
        centre = np.array(np.unravel_index(np.argmax(field.gradient), field.gradient.shape))
        for (rows, cols), style in ((field.theoretical, "--"), (field.measured, "-")):
            axis.add_patch(
                plt.Rectangle(
                    (centre[1] - cols / 2, centre[0] - rows / 2),
                    cols,
                    rows,
                    fill=False,
                    edgecolor="cyan",
                    linestyle=style,
                    linewidth=1,
                )
            )
        axis.set_title(
            f"{field.layer}\nmeasured {field.measured[0]}x{field.measured[1]}, theory "
            f"{field.theoretical[0]}x{field.theoretical[1]}\n90% within {field.effective}x{field.effective}",
            fontsize=7,
        )
    fig.colorbar(shown, ax=axes[0].tolist(), shrink=0.8, label="relative gradient")
    return fig


@method("receptive_field", "maps", conv=True)
def receptive_field_panel(c: Context) -> list[Panel]:
    fields = [effective_receptive_field(c.model, layer, c.shown) for layer in c.layers]
    for f in fields:
        c.metrics |= {
            f"erf_measured/{f.layer}": f.measured[0],
            f"erf_theoretical/{f.layer}": f.theoretical[0],
            f"erf_effective90/{f.layer}": f.effective,
        }
    return [
        Panel(
            "receptive_field",
            receptive_fields_figure(fields),
            "Where one central unit looks: dashed is what its layer geometry allows, solid what the gradient reaches.",
        )
    ]
