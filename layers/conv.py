"""Convolution layers (1D, 2D, 3D) whose backward pass is written by hand as convolutions."""

from __future__ import annotations

import keras

from layers import ops
from layers.kernel_layer import KernelLayer, serial_padding, window_args
from layers.ops import geometry as g


class BaseConv(KernelLayer):
    """N-D convolution (cross-correlation), channels last, Keras 3's arguments and weights.

    The forward pass is ``ops.conv``; its gradient w.r.t. the kernel is the input correlated
    with the upstream gradient, and w.r.t. the input the padded, stride-dilated upstream
    gradient correlated with the flipped kernel. Padding accepts ``"valid"``, ``"same"``,
    ``"full"``, an integer or a tuple per spatial dimension.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, **kwargs):
        super().__init__(rank, filters, **kwargs)
        self.kernel_size, self.strides, self.padding, self.dilation_rate = window_args(
            rank, kernel_size, strides, padding, dilation_rate
        )

    def build(self, input_shape):
        self.check_input(input_shape)
        self.compute_output_shape(input_shape)  # raises when the kernel does not fit
        self.add_weights((*self.kernel_size, input_shape[-1], self.filters), (self.filters,))

    def call(self, inputs):
        kernel = keras.ops.convert_to_tensor(self.kernel)
        outputs = ops.conv(inputs, kernel, self.strides, self.padding, self.dilation_rate)
        return self.finish(outputs)

    def compute_output_shape(self, input_shape):
        out = g.output_spatial(input_shape[1:-1], self.kernel_size, self.strides, self.padding, self.dilation_rate)
        return (input_shape[0], *out, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": serial_padding(self.padding),
                "dilation_rate": self.dilation_rate,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="layers")
class Conv1D(BaseConv):
    """1D convolution over `(batch, steps, channels)` with a hand-written backward pass.

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 1 int.
        strides: int or tuple of 1 int. Default 1.
        padding: `"valid"`, `"same"`, `"full"`, or an int / `(before, after)` pair.
        dilation_rate: int; cannot exceed 1 together with `strides`.
        activation, use_bias, *_initializer, *_regularizer, *_constraint: as in Keras.

    Input shape:
        `(batch, steps, in_channels)`.

    Output shape:
        `(batch, new_steps, filters)`, new_steps = floor((steps + pads - K_eff) / s) + 1.

    Examples:
        >>> import numpy as np
        >>> Conv1D(4, 3)(np.zeros((2, 10, 3), "float32")).shape
        TensorShape([2, 8, 4])
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, dilation_rate, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class Conv2D(BaseConv):
    """2D convolution over `(batch, height, width, channels)` with a hand-written backward pass.

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 2 ints.
        strides: int or tuple of 2 ints. Default 1.
        padding: `"valid"`, `"same"`, `"full"`, an int, or a tuple per spatial dimension.
        dilation_rate: int or tuple; cannot exceed 1 together with `strides`.
        activation, use_bias, *_initializer, *_regularizer, *_constraint: as in Keras.

    Input shape:
        `(batch, height, width, in_channels)`.

    Output shape:
        `(batch, new_height, new_width, filters)`.

    Examples:
        >>> import numpy as np
        >>> Conv2D(6, 5)(np.zeros((1, 32, 32, 1), "float32")).shape
        TensorShape([1, 28, 28, 6])
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, dilation_rate, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class Conv3D(BaseConv):
    """3D convolution over `(batch, depth, height, width, channels)`, hand-written backward pass.

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 3 ints.
        strides: int or tuple of 3 ints. Default 1.
        padding: `"valid"`, `"same"`, `"full"`, an int, or a tuple per spatial dimension.
        dilation_rate: int or tuple; cannot exceed 1 together with `strides`.
        activation, use_bias, *_initializer, *_regularizer, *_constraint: as in Keras.

    Input shape:
        `(batch, depth, height, width, in_channels)`.

    Output shape:
        `(batch, new_depth, new_height, new_width, filters)`.

    Examples:
        >>> import numpy as np
        >>> Conv3D(2, 3, padding="same")(np.zeros((1, 4, 4, 4, 1), "float32")).shape
        TensorShape([1, 4, 4, 4, 2])
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, **kwargs):
        super().__init__(3, filters, kernel_size, strides, padding, dilation_rate, **kwargs)
