"""Keras 3 convolution-family layers whose backward pass is written by hand.

Drop-in replacements for their ``keras.layers`` namesakes (same arguments, weight names and
shapes), plus layers Keras lacks. The math lives in ``layers.ops``. This package imports
nothing from ``pipeline``: copy the folder into any project.
"""

from layers import ops as ops  # the math as plain functions (an explicit re-export: `from layers import ops`)
from layers.activations import Maxout
from layers.conv import Conv1D, Conv2D, Conv3D
from layers.local import LocallyConnected1D, LocallyConnected2D
from layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    LpPooling2D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from layers.transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from layers.unpooling import MaxUnpooling2D, UpSampling2D

__all__ = [
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "LpPooling2D",
    "MaxUnpooling2D",
    "UpSampling2D",
    "LocallyConnected1D",
    "LocallyConnected2D",
    "Maxout",
]
