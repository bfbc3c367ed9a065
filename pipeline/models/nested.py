"""Models nested in models (a pretrained base inside a transfer-learning model, as Keras users
build them): `inline` calls every nested model's layers in place, so a method that needs a
layer's output (Grad-CAM, feature maps, activation maximization) finds it in one connected
graph. The layers, and so the weights, are shared with the original model."""

from __future__ import annotations

from collections.abc import Callable

import keras


def is_nested(model: keras.Model) -> bool:
    """Whether a layer of `model` is itself a model (a pretrained base inside a transfer model)."""
    return any(isinstance(layer, keras.Model) for layer in model.layers)


def inline(model: keras.Model) -> keras.Model:
    """The same network as one flat functional model over the same layers (the model itself
    when nothing is nested). Single-input models only."""
    if not is_nested(model):
        return model
    if len(model.inputs) != 1:
        raise ValueError(f"Only single-input nested models can be inlined; {model.name!r} has {len(model.inputs)}.")
    inputs = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(inputs, run_layers(model, inputs), name=model.name)


def _apply(layer, *args, **kwargs):
    return layer(*args, **kwargs)


def run_layers(model: keras.Model, x, call: Callable = _apply):
    """Run `model` on `x` one layer at a time, every nested model's layers in place:
    `call(layer, *args, **kwargs)` computes each layer (default: the layer itself), so a caller
    can record each layer's input and output."""

    def visit(operation, *args, **kwargs):
        if not isinstance(operation, keras.Model):
            return call(operation, *args, **kwargs)
        if isinstance(operation, keras.Sequential):
            y = args[0]
            for layer in operation.layers:
                y = visit(layer, y)
            return y
        # Keras 3 has no public call that runs a functional model's graph node by node; its
        # `_run_through_graph` (what Functional.call runs) is that walk, with a hook per operation.
        return operation._run_through_graph(args[0], operation_fn=lambda op: lambda *a, **k: visit(op, *a, **k))

    return visit(model, x)
