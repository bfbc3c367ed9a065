"""Small pieces several architectures share: activations by name, applying a list of layers."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from pipeline.errors import ConfigError
from pipeline.models.impl import Impl

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "maxout")
# A maxout unit takes the maximum of this many linear pieces (Goodfellow et al. use 2 to 5).
MAXOUT_PIECES = 2


def check_choice(option: str, value, choices: Sequence) -> None:
    if value not in choices:
        raise ConfigError(
            f"Invalid value for option `{option}`. Expected one of {tuple(choices)}. Received: {option}={value!r}"
        )


def pieces(activation: str) -> int:
    """How many outputs the layer before `activation` needs per unit (maxout needs several)."""
    return MAXOUT_PIECES if activation == "maxout" else 1


def activation_layer(activation: str, units: int, impl: Impl, name: str) -> keras.layers.Layer:
    """The nonlinearity after a conv or dense layer with `units * pieces(activation)` outputs."""
    check_choice("activation", activation, ACTIVATIONS)
    if activation == "relu":
        return keras.layers.ReLU(name=name)
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.1, name=name)
    if activation == "elu":
        return keras.layers.ELU(name=name)
    if activation == "maxout":
        return impl.Maxout(units, name=name)
    return keras.layers.Activation(activation, name=name)


def apply(layer_list: Sequence[keras.layers.Layer], x):
    """Call each layer on the output of the previous one."""
    for layer in layer_list:
        x = layer(x)
    return x


def classifier_head(
    units: Sequence[int],
    num_classes: int,
    impl: Impl,
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    dropout_before: Sequence[int] = (),
) -> list[keras.layers.Layer]:
    """[FC -> activation] per entry of `units`, then the FC emitting logits ("logits").

    `dropout_before` lists the FC layers (1-based; the logits layer is `len(units) + 1`) that
    a dropout layer precedes: AlexNet drops before FC 1 and 2, VGG before FC 2 and 3.
    """
    head: list[keras.layers.Layer] = []
    for i, width in enumerate((*units, num_classes), start=1):
        if dropout and i in dropout_before:
            head.append(keras.layers.Dropout(dropout, name=f"dropout{i}"))
        if i > len(units):
            head.append(keras.layers.Dense(width, name="logits"))
        else:
            head.append(keras.layers.Dense(width * pieces(activation), name=f"fc{i}"))
            head.append(activation_layer(activation, width, impl, name=f"fc{i}_{activation}"))
    return head
