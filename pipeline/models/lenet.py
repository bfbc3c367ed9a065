"""`lenet5`: LeNet-5 (LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to
document recognition", Proc. IEEE 1998), as the lecture tabulates it: ReLU and max-pooling in
place of the paper's scaled tanh and trainable subsampling.

INPUT 32x32x1 -> CONV 6@5x5 -> RELU -> POOL 2 -> CONV 16@5x5 -> RELU -> POOL 2
-> CONV 120@5x5 -> RELU -> FC 84 -> RELU -> FC classes: 61,706 parameters for 10 classes.
"""

from __future__ import annotations

import keras

from pipeline.errors import ConfigError
from pipeline.models import blocks
from pipeline.models.impl import Impl


def min_input(**options) -> int:
    return 32  # 32 -conv5-> 28 -pool-> 14 -conv5-> 10 -pool-> 5 -conv5-> 1


def build(num_classes: int, impl: Impl, activation: str = "relu", width: float = 1.0) -> list[keras.layers.Layer]:
    """`width` scales every layer's filters and units (a sweep's capacity knob)."""
    if width <= 0:
        raise ConfigError(f"model.options.width must be > 0, got {width}")
    out: list[keras.layers.Layer] = []
    for i, base in enumerate((6, 16, 120), start=1):
        filters = max(1, round(base * width))
        out.append(impl.Conv2D(filters * blocks.pieces(activation), 5, name=f"conv{i}"))
        out.append(blocks.activation_layer(activation, filters, impl, name=f"conv{i}_{activation}"))
        if i < 3:
            out.append(impl.MaxPooling2D(2, name=f"pool{i}"))
    out.append(keras.layers.Flatten(name="flatten"))
    return out + blocks.classifier_head([max(1, round(84 * width))], num_classes, impl, activation=activation)
