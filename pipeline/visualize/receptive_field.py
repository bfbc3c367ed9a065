"""Receptive fields. The theoretical one follows from kernel sizes, strides and dilations (a
stack of three 3x3 convs sees 7x7); the effective one (Luo et al., "Understanding the effective
receptive field in deep convolutional neural networks", NeurIPS 2016) is measured: the gradient
of a central unit of a layer w.r.t. the input, and where it is non-zero."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from pipeline.visualize._common import as_batch, float32, graph, layer_output, parents, submodel, window


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
