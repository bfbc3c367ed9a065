"""Models nested in models (a pretrained base inside a transfer-learning model, as Keras users
build them): `inline` calls every nested model's layers in place, so a method that needs a
layer's output (Grad-CAM, feature maps, activation maximization) finds it in one connected
graph. The layers, and so the weights, are shared with the original model."""

from __future__ import annotations

import keras


def is_nested(model: keras.Model) -> bool:
    return any(isinstance(layer, keras.Model) for layer in model.layers)


def inline(model: keras.Model) -> keras.Model:
    """The same network as one flat functional model over the same layers (the model itself
    when nothing is nested). Single-input models only."""
    if not is_nested(model):
        return model
    if len(model.inputs) != 1:
        raise ValueError(f"Only single-input nested models can be inlined; {model.name!r} has {len(model.inputs)}.")
    inputs = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(inputs, _call(model, inputs), name=model.name)


def _call(operation, *args, **kwargs):
    """Call a layer, or run a model's own graph with every nested model inlined."""
    if not isinstance(operation, keras.Model):
        return operation(*args, **kwargs)
    if isinstance(operation, keras.Sequential):
        x = args[0]
        for layer in operation.layers:
            x = _call(layer, x)
        return x
    # Keras 3 has no public call that runs a functional model's graph node by node; its
    # `_run_through_graph` (used by Functional.call) is that walk, with a hook per operation.
    return operation._run_through_graph(args[0], operation_fn=lambda op: lambda *a, **k: _call(op, *a, **k))
