"""Locally connected layers: convolutions whose weights are not shared across positions.

Keras 3 removed its own; these keep Keras 2's weight layout.
"""

from __future__ import annotations

import math

import keras

from layers import ops
from layers.kernel_layer import KernelLayer, serial_padding, window_args
from layers.ops import geometry as g


class BaseLocallyConnected(KernelLayer):
    """N-D locally connected layer (unshared kernels), channels last.

    ``kernel``: ``(num_positions, prod(kernel_size) * in_channels, filters)`` with positions in
    row-major order; ``bias``: ``(*output_spatial, filters)`` (one bias per position, as Keras 2).
    The backward pass is written by hand in ``ops.local_conv``.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(rank, filters, **kwargs)
        self.kernel_size, self.strides, self.padding, _ = window_args(rank, kernel_size, strides, padding, 1)

    def build(self, input_shape):
        self.check_input(input_shape)
        out = self.compute_output_shape(input_shape)[1:-1]
        if any(n is None for n in out):
            raise ValueError(
                f"'{self.name}' needs known spatial dimensions. Received: input_shape={tuple(input_shape)}"
            )
        fan_in = math.prod(self.kernel_size) * input_shape[-1]
        self.add_weights((math.prod(out), fan_in, self.filters), (*out, self.filters))

    def call(self, inputs):
        kernel = keras.ops.convert_to_tensor(self.kernel)
        outputs = ops.local_conv(inputs, kernel, self.kernel_size, self.strides, self.padding)
        return self.finish(outputs)

    def compute_output_shape(self, input_shape):
        out = g.output_spatial(input_shape[1:-1], self.kernel_size, self.strides, self.padding, (1,) * self.rank)
        return (input_shape[0], *out, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"kernel_size": self.kernel_size, "strides": self.strides, "padding": serial_padding(self.padding)}
        )
        return config


@keras.saving.register_keras_serializable(package="layers")
class LocallyConnected1D(BaseLocallyConnected):
    """1D locally connected layer: like Conv1D, but every output step has its own kernel.

    Args:
        filters: number of output channels.
        kernel_size, strides: int or tuple of 1 int.
        padding: `"valid"`, `"same"`, `"full"` or explicit integers.
        activation, use_bias, *_initializer, *_regularizer, *_constraint: as in Keras.

    Input shape:
        `(batch, steps, in_channels)`.

    Output shape:
        `(batch, new_steps, filters)`.

    Examples:
        >>> import numpy as np
        >>> layer = LocallyConnected1D(2, 3)
        >>> layer(np.zeros((1, 10, 4), "float32")).shape, tuple(layer.kernel.shape)
        (TensorShape([1, 8, 2]), (8, 12, 2))
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class LocallyConnected2D(BaseLocallyConnected):
    """2D locally connected layer: like Conv2D, but every output pixel has its own kernel.

    Args:
        filters: number of output channels.
        kernel_size, strides: int or tuple of 2 ints.
        padding: `"valid"`, `"same"`, `"full"` or explicit integers.
        activation, use_bias, *_initializer, *_regularizer, *_constraint: as in Keras.

    Input shape:
        `(batch, height, width, in_channels)`.

    Output shape:
        `(batch, new_height, new_width, filters)`.

    Examples:
        >>> import numpy as np
        >>> layer = LocallyConnected2D(4, 3)
        >>> layer(np.zeros((1, 6, 6, 2), "float32")).shape, tuple(layer.kernel.shape)
        (TensorShape([1, 4, 4, 4]), (16, 18, 4))
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, **kwargs)
