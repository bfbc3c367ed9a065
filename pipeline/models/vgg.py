"""`vgg11`, `vgg13`, `vgg16`, `vgg19`: Simonyan and Zisserman, "Very deep convolutional networks
for large-scale image recognition", ICLR 2015 (configurations A, B, D, E). 3x3 convolutions
("same"), 2x2 max-pooling after each block, FC 4096-4096-classes with dropout: VGG-16 has
138,357,544 parameters at 224x224x3 with 1000 classes.
"""

from __future__ import annotations

import keras

from pipeline.models import blocks
from pipeline.models.impl import Impl

# Convolutions per block for each depth; the blocks have 64, 128, 256, 512, 512 filters.
CONVS_PER_BLOCK = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
WIDTHS = (64, 128, 256, 512, 512)
HEADS = ("flatten", "gap", "none")


def min_input(**options) -> int:
    return 32  # five 2x2 pools


def build(
    num_classes: int,
    impl: Impl,
    depth: int = 16,
    dropout: float = 0.5,
    fc_units: int = 4096,
    batch_norm: bool = False,
    head: str = "flatten",
) -> list[keras.layers.Layer]:
    """One of the four VGG depths; `batch_norm` adds batch normalization after each conv.

    `head`: "flatten" (the paper's FC 4096-4096-classes), "gap" (global average pooling, layer
    norm and one dense layer: any input size, the usual head for transfer learning) or "none" (the conv base,
    ending in block5_pool)."""
    blocks.check_choice("depth", depth, tuple(CONVS_PER_BLOCK))
    blocks.check_choice("head", head, HEADS)
    out: list[keras.layers.Layer] = []
    for block, (convs, width) in enumerate(zip(CONVS_PER_BLOCK[depth], WIDTHS), start=1):
        for conv in range(1, convs + 1):
            name = f"block{block}_conv{conv}"
            out.append(impl.Conv2D(width, 3, padding="same", name=name))
            if batch_norm:
                out.append(keras.layers.BatchNormalization(name=f"{name}_bn"))
            out.append(keras.layers.ReLU(name=f"{name}_relu"))
        out.append(impl.MaxPooling2D(2, name=f"block{block}_pool"))
    if head == "none":
        return out
    if head == "gap":  # layer norm: pretrained features come at the scale of 0-255 inputs (up to hundreds)
        return [
            *out,
            keras.layers.GlobalAveragePooling2D(name="avg_pool"),
            keras.layers.LayerNormalization(name="head_norm"),
            keras.layers.Dense(num_classes, name="logits"),
        ]
    out.append(keras.layers.Flatten(name="flatten"))
    return out + blocks.classifier_head([fc_units, fc_units], num_classes, impl, dropout=dropout, dropout_before=(2, 3))
