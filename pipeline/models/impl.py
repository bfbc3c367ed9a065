"""The two layer implementations an architecture can be built from: ours or Keras's.

Architectures ask `family(impl)` for their conv-family layers, so one definition builds the
same network from `layers` (hand-written gradients) or from `keras.layers` (autodiff). Layers
without trainable conv-family math (Dense, BatchNormalization, Dropout, Flatten, ...) come from
Keras in both.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import keras

import layers
from pipeline.models import autodiff_layers
from pipeline.registry import Registry


def family(impl: str) -> SimpleNamespace:
    """Conv-family layer classes of one implementation, under one set of names.

    Besides the classes, `padded_conv2d(filters, kernel_size, padding, name, **kwargs)` returns
    the layers of a 2D conv with explicit integer padding: one `layers.Conv2D`, which takes it
    directly, or `keras.layers.ZeroPadding2D` then a "valid" `keras.layers.Conv2D`.
    """
    return IMPLEMENTATIONS[impl]()


def _custom() -> SimpleNamespace:
    return SimpleNamespace(
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
    )


def _keras() -> SimpleNamespace:
    return SimpleNamespace(
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
    )


IMPLEMENTATIONS = Registry("layers.impl", {"custom": _custom, "keras": _keras})


def _padded_custom_conv2d(filters: int, kernel_size, padding: int, name: str, **kwargs) -> list[keras.layers.Layer]:
    return [layers.Conv2D(filters, kernel_size, padding=padding, name=name, **kwargs)]


def _padded_keras_conv2d(filters: int, kernel_size, padding: int, name: str, **kwargs) -> list[keras.layers.Layer]:
    return [
        keras.layers.ZeroPadding2D(padding, name=f"{name}_pad"),
        keras.layers.Conv2D(filters, kernel_size, padding="valid", name=name, **kwargs),
    ]
