"""`conv1d`: a small 1D convnet for signals, in the spirit of the fully convolutional time-series
baseline of Wang, Yan and Oates, "Time series classification from scratch with deep neural
networks: a strong baseline", IJCNN 2017: three convolutions with ReLU (here with max-pooling
between them), global average pooling, FC.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from pipeline.models.impl import Impl


def min_input(**options) -> int:
    return 26  # L -k7-> L-6 -pool-> -k5-> -pool-> -k3-> at least 1


def build(num_classes: int, impl: Impl, filters: Sequence[int] = (16, 32, 64)) -> list[keras.layers.Layer]:
    out: list[keras.layers.Layer] = []
    for i, (width, kernel) in enumerate(zip(filters, (7, 5, 3)), start=1):
        out += [impl.Conv1D(width, kernel, name=f"conv{i}"), keras.layers.ReLU(name=f"conv{i}_relu")]
        if i < 3:
            out.append(impl.MaxPooling1D(2, name=f"pool{i}"))
    return out + [keras.layers.GlobalAveragePooling1D(name="avg_pool"), keras.layers.Dense(num_classes, name="logits")]
