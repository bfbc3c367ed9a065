"""A classifier's logits, whatever its last layer: attacks and attributions need the scores before
the softmax (a softmax output flattens their gradients where the model is confident, so an attack
on it overstates robustness, as AutoAttack's own checks warn).

>>> logits_model = pre_softmax(model)   # None when the model does not end in a softmax it exposes
>>> looks_like_probabilities(model.predict(x))
"""

from __future__ import annotations

import keras
import numpy as np


def pre_softmax(model: keras.Model) -> keras.Model | None:
    """The model's pre-softmax scores as a model of the same inputs, when its single output is a
    softmax: a `Softmax` layer, an `Activation("softmax")`, a layer built with
    `activation="softmax"` (the copy of that layer without it shares nothing: its weights are
    copied), or a nested model ending in one of those. None for any other model, a subclassed
    one included (its graph is not visible)."""
    outputs = getattr(model, "outputs", None)
    if not isinstance(model, keras.Model) or not outputs or len(outputs) != 1:
        return None
    try:
        features = _pre_softmax_tensor(outputs[0])
    except (AttributeError, IndexError, ValueError):
        return None
    return None if features is None else keras.Model(model.inputs, features, name=f"{model.name}_logits")


def _pre_softmax_tensor(tensor):
    """The symbolic tensor of the scores before the softmax that produces `tensor`, or None."""
    operation, node_index, _ = tensor._keras_history
    node = operation._inbound_nodes[node_index]
    if len(node.input_tensors) != 1:
        return None
    (features,) = node.input_tensors
    if isinstance(operation, keras.layers.Softmax) or (
        isinstance(operation, keras.layers.Activation) and _is_softmax(operation.activation)
    ):
        return features
    if isinstance(operation, keras.Model):
        inner = pre_softmax(operation)
        return None if inner is None else inner(features)
    if _is_softmax(getattr(operation, "activation", None)):
        return _without_activation(operation, features.shape)(features)
    return None


def _is_softmax(activation) -> bool:
    return activation is not None and getattr(activation, "__name__", "") == "softmax"


def _without_activation(layer: keras.layers.Layer, input_shape) -> keras.layers.Layer:
    config = layer.get_config() | {"activation": "linear", "name": f"{layer.name}_logits"}
    copy = type(layer).from_config(config)
    copy.build(input_shape)
    copy.set_weights(layer.get_weights())
    return copy


def looks_like_probabilities(outputs: np.ndarray, tolerance: float = 1e-5) -> bool:
    """Whether every row of `outputs` (N, classes) is a probability distribution (in [0, 1],
    summing to 1 within `tolerance`), the test AutoAttack's code applies."""
    outputs = np.asarray(outputs, np.float64)
    if outputs.ndim != 2 or outputs.shape[1] < 2 or not len(outputs):
        return False
    return bool(
        outputs.max() < 1 + tolerance and outputs.min() > -tolerance and np.all(np.abs(outputs.sum(1) - 1) < tolerance)
    )
