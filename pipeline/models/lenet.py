"""`lenet5`: LeNet-5 (LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to
document recognition", Proc. IEEE 1998), as the lecture tabulates it: ReLU and max-pooling in
place of the paper's scaled tanh and trainable subsampling.

INPUT 32x32x1 -> CONV 6@5x5 -> RELU -> POOL 2 -> CONV 16@5x5 -> RELU -> POOL 2
-> CONV 120@5x5 -> RELU -> FC 84 -> RELU -> FC classes: 61,706 parameters for 10 classes.
"""

from __future__ import annotations

from types import SimpleNamespace

import keras

from pipeline.models import blocks


def min_input(**options) -> int:
    return 32  # 32 -conv5-> 28 -pool-> 14 -conv5-> 10 -pool-> 5 -conv5-> 1


def build(num_classes: int, family: SimpleNamespace, activation: str = "relu") -> list[keras.layers.Layer]:
    out: list[keras.layers.Layer] = []
    for i, filters in enumerate((6, 16, 120), start=1):
        out.append(family.Conv2D(filters * blocks.pieces(activation), 5, name=f"conv{i}"))
        out.append(blocks.activation_layer(activation, filters, family, name=f"conv{i}_{activation}"))
        if i < 3:
            out.append(family.MaxPooling2D(2, name=f"pool{i}"))
    out.append(keras.layers.Flatten(name="flatten"))
    return out + blocks.classifier_head([84], num_classes, family, activation=activation)
