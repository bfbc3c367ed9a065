"""The two layer implementations an architecture can be built from: ours or Keras's.

One word names the choice everywhere: the setting `layers.impl` (`layers=custom` on the command
line), the argument `build_model(..., impl=...)`, the registry `IMPLS`, and the `Impl` an
architecture's builder receives, whose conv-family classes it builds from. So one definition
builds the same network from `layers` (hand-written gradients) or from `keras.layers`
(autodiff). Layers without trainable conv-family math (Dense, BatchNormalization, Dropout,
Flatten, ...) come from Keras in both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import keras

import layers
from pipeline.models import autodiff_layers
from pipeline.registry import Registry


@dataclass(frozen=True)
class Impl:
    """The conv-family layer classes of one implementation, under one set of names.

    `padded_conv2d(filters, kernel_size, padding, name, **kwargs)` returns the layers of a 2D
    conv with explicit integer padding: one `layers.Conv2D`, which takes it directly, or
    `keras.layers.ZeroPadding2D` then a "valid" `keras.layers.Conv2D`.
    """

    padded_conv2d: Callable[..., list[keras.layers.Layer]]
    Conv1D: type
    Conv2D: type
    Conv2DTranspose: type
    MaxPooling1D: type
    MaxPooling2D: type
    AveragePooling2D: type
    LpPooling2D: type
    MaxPoolingWithIndices2D: Callable[..., keras.layers.Layer]
    MaxUnpooling2D: type
    Maxout: type


def _padded_custom_conv2d(filters: int, kernel_size, padding: int, name: str, **kwargs) -> list[keras.layers.Layer]:
    return [layers.Conv2D(filters, kernel_size, padding=padding, name=name, **kwargs)]


def _padded_keras_conv2d(filters: int, kernel_size, padding: int, name: str, **kwargs) -> list[keras.layers.Layer]:
    return [
        keras.layers.ZeroPadding2D(padding, name=f"{name}_pad"),
        keras.layers.Conv2D(filters, kernel_size, padding="valid", name=name, **kwargs),
    ]


IMPLS: Registry[Impl] = Registry("layers.impl")
# The project's layers: backward passes written by hand as convolutions.
IMPLS.register(
    "custom",
    Impl(
        padded_conv2d=_padded_custom_conv2d,
        Conv1D=layers.Conv1D,
        Conv2D=layers.Conv2D,
        Conv2DTranspose=layers.Conv2DTranspose,
        MaxPooling1D=layers.MaxPooling1D,
        MaxPooling2D=layers.MaxPooling2D,
        AveragePooling2D=layers.AveragePooling2D,
        LpPooling2D=layers.LpPooling2D,
        MaxPoolingWithIndices2D=functools.partial(layers.MaxPooling2D, return_indices=True),
        MaxUnpooling2D=layers.MaxUnpooling2D,
        Maxout=layers.Maxout,
    ),
)
# keras.layers (and Keras-autodiff versions of what Keras lacks): the reference to compare against.
IMPLS.register(
    "keras",
    Impl(
        padded_conv2d=_padded_keras_conv2d,
        Conv1D=keras.layers.Conv1D,
        Conv2D=keras.layers.Conv2D,
        Conv2DTranspose=keras.layers.Conv2DTranspose,
        MaxPooling1D=keras.layers.MaxPooling1D,
        MaxPooling2D=keras.layers.MaxPooling2D,
        AveragePooling2D=keras.layers.AveragePooling2D,
        LpPooling2D=autodiff_layers.LpPooling2D,
        MaxPoolingWithIndices2D=autodiff_layers.MaxPooling2D,
        MaxUnpooling2D=autodiff_layers.MaxUnpooling2D,
        Maxout=autodiff_layers.Maxout,
    ),
)
