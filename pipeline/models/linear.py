"""`linear` (INPUT -> FC) and `mlp` (INPUT -> [FC -> RELU]*K -> FC): the lecture's first two networks.

A linear classifier is the score function f(x) = Wx + b (the CS231n linear classification
notes); an MLP stacks K hidden fully connected layers with rectifiers (Rumelhart, Hinton and
Williams, 1986).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from pipeline.errors import ConfigError
from pipeline.models import blocks
from pipeline.models.impl import Impl


def min_input(**options) -> int:
    return 1


def build_linear(num_classes: int, impl: Impl) -> list[keras.layers.Layer]:
    """Flatten the image, one Dense layer of class scores."""
    return [keras.layers.Flatten(name="flatten"), keras.layers.Dense(num_classes, name="logits")]


def build_mlp(
    num_classes: int, impl: Impl, hidden_units: Sequence[int] = (256, 128), activation: str = "relu"
) -> list[keras.layers.Layer]:
    """Flatten, then `len(hidden_units)` hidden FC layers with `activation`, then the logits."""
    if not hidden_units or any(int(u) < 1 for u in hidden_units):
        raise ConfigError(
            "Invalid value for option `hidden_units`. Expected "
            f"positive widths. Received: hidden_units={hidden_units!r}"
        )
    return [
        keras.layers.Flatten(name="flatten"),
        *blocks.classifier_head(hidden_units, num_classes, impl, activation=activation),
    ]
