"""Multiply-accumulates of one forward pass for one example (what papers and torchvision call
"FLOPs": ResNet-50 about 4.1 G at 224x224, VGG-16 about 15.5 G). Counted from each layer's kernel
and the shapes it sees: a conv or dense kernel is used once per output position, a transposed
conv's once per input position, a locally connected kernel (one per position) once. Biases,
normalizations, activations and pooling are left out, as the published figures leave them out."""

from __future__ import annotations

import math

import keras

import layers as ours

TRANSPOSED = (
    ours.Conv1DTranspose,
    ours.Conv2DTranspose,
    ours.Conv3DTranspose,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)
LOCAL = (ours.LocallyConnected1D, ours.LocallyConnected2D)


def flops(model: keras.Model) -> int:
    """Multiply-accumulates for one example through `model` (nested models included, once per
    call: a Siamese network's shared tower counts twice)."""
    return sum(_layer_macs(layer) * _calls(model, layer) for layer in model.layers)


def _calls(model: keras.Model, layer: keras.layers.Layer) -> int:
    """How often `model`'s graph calls `layer` (a Sequential model calls each layer once)."""
    nodes = getattr(model, "_nodes_by_depth", None)  # Keras 3 functional models
    return sum(node.operation is layer for level in nodes.values() for node in level) if nodes else 1


def _layer_macs(layer: keras.layers.Layer) -> int:
    if isinstance(layer, keras.Model):
        return flops(layer)
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        return 0
    weights = math.prod(kernel.shape)
    if isinstance(layer, LOCAL):
        return weights
    if isinstance(layer, TRANSPOSED):
        return weights * math.prod(layer.input.shape[1:-1])
    return weights * math.prod(layer.output.shape[1:-1])
