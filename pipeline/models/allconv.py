"""`allconv`: All-CNN-C from Springenberg, Dosovitskiy, Brox and Riedmiller, "Striving for
simplicity: the all convolutional net", ICLR 2015 workshop.

No pooling: strided 3x3 convolutions downsample, 1x1 convolutions make the class scores, and a
global average over the last map gives the logits (1,369,738 parameters for 32x32x3 and 10
classes). The paper's ReLU on the class-score layer is left out: the model emits logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from pipeline.models.impl import Impl


def min_input(**options) -> int:
    return 9  # two stride-2 "same" convs, then a "valid" 3x3 that needs 3x3


def build(
    num_classes: int,
    impl: Impl,
    filters: Sequence[int] = (96, 192),
    input_dropout: float = 0.2,
    dropout: float = 0.5,
) -> list[keras.layers.Layer]:
    small, large = filters
    out: list[keras.layers.Layer] = [keras.layers.Dropout(input_dropout, name="input_dropout")] if input_dropout else []
    plan = [  # (filters, kernel, strides, padding)
        (small, 3, 1, "same"),
        (small, 3, 1, "same"),
        (small, 3, 2, "same"),
        (large, 3, 1, "same"),
        (large, 3, 1, "same"),
        (large, 3, 2, "same"),
        (large, 3, 1, "valid"),
        (large, 1, 1, "valid"),
    ]
    for i, (width, kernel, strides, padding) in enumerate(plan, start=1):
        out.append(impl.Conv2D(width, kernel, strides=strides, padding=padding, name=f"conv{i}"))
        out.append(keras.layers.ReLU(name=f"conv{i}_relu"))
        if strides > 1 and dropout:
            out.append(keras.layers.Dropout(dropout, name=f"dropout{i}"))
    out.append(impl.Conv2D(num_classes, 1, name="class_scores"))
    out.append(keras.layers.GlobalAveragePooling2D(name="logits"))
    return out
