"""A model's layers as a graph: sub-models cut at any layer (nested models included), the
layers each one reads, and the layers worth looking at (convolutions, poolings, spatial maps)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from pipeline.models import run_layers


@dataclass(frozen=True)
class Graph:
    """A model's symbolic graph: its input, each layer's input and output tensors, its output."""

    input: object
    outputs: dict
    inputs: dict
    output: object


_GRAPHS: weakref.WeakKeyDictionary[keras.Model, Graph] = weakref.WeakKeyDictionary()
_PARENTS: weakref.WeakKeyDictionary[keras.Model, dict] = weakref.WeakKeyDictionary()


def graph(model: keras.Model) -> Graph:
    """The graph to cut sub-models from. A layer called more than once (a loaded Sequential
    model's, a layer of a nested model that was inlined) has several outputs and `layer.output`
    can belong to another graph, so the model is traced afresh from a new input through the
    same layers (same weights)."""
    if model in _GRAPHS:
        return _GRAPHS[model]
    if len(model.inputs) != 1:
        raise ValueError(f"Visualizations need a single-input model; {model.name!r} has {len(model.inputs)}.")
    start, outputs, inputs = keras.Input(model.input_shape[1:], name="image"), {}, {}

    def recorded(layer, *args, **kwargs):
        inputs[layer.name], outputs[layer.name] = args[0], layer(*args, **kwargs)
        return outputs[layer.name]

    output = run_layers(model, start, recorded)
    output = output[0] if isinstance(output, (list, tuple)) else output
    found = Graph(start, outputs, inputs, output)
    _GRAPHS[model] = found
    return found


def layer_output(model: keras.Model, layer_name: str):
    """The symbolic output of a named layer (the first output of a multi-output layer)."""
    outputs = graph(model).outputs
    if layer_name not in outputs:
        raise ValueError(f"Model {model.name!r} has no layer {layer_name!r}. Layers: {', '.join(outputs)}.")
    output = outputs[layer_name]
    return output[0] if isinstance(output, (list, tuple)) else output


def submodel(model: keras.Model, layer_names: Sequence[str], with_logits: bool = False) -> keras.Model:
    """A model from the input to the named layers' outputs (then the logits when asked)."""
    outputs = [layer_output(model, name) for name in layer_names] + ([model_output(model)] if with_logits else [])
    return keras.Model(graph(model).input, outputs[0] if len(outputs) == 1 else outputs)


def model_output(model: keras.Model):
    """The model's (first) output in `graph(model)`."""
    return graph(model).output


def spatial_layers(model: keras.Model) -> list[str]:
    """Layers whose output is an image-like map (batch, height, width, channels)."""
    return [name for name in graph(model).outputs if len(layer_output(model, name).shape) == 4]


def parents(model: keras.Model) -> dict[str, list[tuple[str, int]]]:
    """layer name -> (layer name, output index) of each tensor the layer reads, from the model's
    own config: a functional model's serialized graph names, for every layer, the layers whose
    outputs it is called on; a Sequential model is a chain.

    Keras 3 has no public call for a layer's inbound layers; its saved config (`inbound_nodes`,
    each tensor's `keras_history`) is the stable, documented record, read here and nowhere else.
    """
    if model not in _PARENTS:  # serializing a large model's config takes a while: once per model
        config = model.get_config()
        names = [layer["config"]["name"] for layer in config["layers"]]
        if isinstance(model, keras.Sequential):
            found = {name: [(parent, 0)] for parent, name in zip(names, names[1:])} | {names[0]: []}
        else:
            found = {name: _tensors_read(layer["inbound_nodes"][:1]) for name, layer in zip(names, config["layers"])}
        _PARENTS[model] = found
    return _PARENTS[model]


def _tensors_read(value) -> list[tuple[str, int]]:
    """The `keras_history` [layer, node, output index] of every serialized tensor in `value`."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            layer, _, index = value["config"]["keras_history"]
            return [(layer, index)]
        return [t for v in value.values() for t in _tensors_read(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_read(v)]
    return []


def window(layer: keras.layers.Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(kernel, stride, dilation) per spatial axis of a 2D conv or pooling layer, read from its
    config (`kernel_size` or `pool_size`, `strides`, `dilation_rate`: ours and Keras's alike);
    None for any other layer."""
    config = layer.get_config()
    size = config.get("kernel_size") or config.get("pool_size")
    if size is None or np.size(size) != 2:
        return None
    pair = lambda v, default: np.broadcast_to(np.asarray(default if v is None else v), 2)
    return pair(size, size), pair(config.get("strides"), size), pair(config.get("dilation_rate"), 1)


def pooling_layers(model: keras.Model) -> list[str]:
    """Layers with a pooling window (a `pool_size` in their config) and a spatial output."""
    return [
        layer.name
        for layer in model.layers
        if "pool_size" in layer.get_config() and len(layer_output(model, layer.name).shape) == 4
    ]


def kernel_layers(model: keras.Model) -> list[str]:
    """Layers with a 2D convolution kernel (kh, kw, in, out): ours and Keras's alike."""
    found = []
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and len(kernel.shape) == 4 and len(layer_output(model, layer.name).shape) == 4:
            found.append(layer.name)
    return found


def after_activation(model: keras.Model, name: str) -> str:
    """Follow a layer through the weight-free layers that keep its shape (its activation)."""
    chain = model.layers
    i = [layer.name for layer in chain].index(name)
    while (
        i + 1 < len(chain)
        and not chain[i + 1].weights
        and layer_output(model, chain[i + 1].name).shape == layer_output(model, chain[i].name).shape
    ):
        i += 1
    return chain[i].name


def last_conv_layer(model: keras.Model) -> str:
    """The output (after its activation) of the deepest convolution whose map is at least 2x2:
    Grad-CAM's usual choice (a 1x1 map cannot say where)."""
    candidates = [name for name in kernel_layers(model) if min(layer_output(model, name).shape[1:3]) >= 2]
    if not candidates:
        raise ValueError(f"Model {model.name!r} has no convolutional layer with a map of at least 2x2.")
    return after_activation(model, candidates[-1])
