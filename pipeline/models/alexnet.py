"""`alexnet`: AlexNet (Krizhevsky, Sutskever and Hinton, "ImageNet classification with deep
convolutional neural networks", NeurIPS 2012) in the one-GPU 64-192-384-256-256 variant
(Krizhevsky, "One weird trick for parallelizing convolutional neural networks", 2014) that the
lecture tabulates: 61,100,840 parameters at 224x224x3 with 1000 classes, 6x6x256 features.
"""

from __future__ import annotations

import keras

from pipeline.models import blocks
from pipeline.models.impl import Impl


def min_input(**options) -> int:
    return 63  # conv1 -> 15, pool -> 7, pool -> 3, pool -> 1


def build(num_classes: int, impl: Impl, dropout: float = 0.5, fc_units: int = 4096) -> list[keras.layers.Layer]:
    out: list[keras.layers.Layer] = [
        *impl.padded_conv2d(64, 11, padding=2, strides=4, name="conv1"),
        keras.layers.ReLU(name="conv1_relu"),
        impl.MaxPooling2D(3, 2, name="pool1"),
        impl.Conv2D(192, 5, padding="same", name="conv2"),
        keras.layers.ReLU(name="conv2_relu"),
        impl.MaxPooling2D(3, 2, name="pool2"),
    ]
    for i, filters in ((3, 384), (4, 256), (5, 256)):
        out += [impl.Conv2D(filters, 3, padding="same", name=f"conv{i}"), keras.layers.ReLU(name=f"conv{i}_relu")]
    out += [impl.MaxPooling2D(3, 2, name="pool5"), keras.layers.Flatten(name="flatten")]
    return out + blocks.classifier_head([fc_units, fc_units], num_classes, impl, dropout=dropout, dropout_before=(1, 2))
