"""Transposed convolution layers: the forward pass is the input VJP of a convolution."""

from __future__ import annotations

import keras

from layers import ops
from layers.kernel_layer import KernelLayer, serial_padding, window_args
from layers.ops import geometry as g


class BaseConvTranspose(KernelLayer):
    """N-D transposed convolution, channels last, Keras 3's arguments and weights.

    ``kernel`` has shape ``(*kernel_size, filters, in_channels)`` as in Keras. The forward pass
    is the gradient of a convolution w.r.t. its input; the backward pass is that convolution
    (for the input) and the convolution's kernel VJP with the roles of input and gradient swapped.
    """

    def __init__(
        self, rank, filters, kernel_size, strides=1, padding="valid", output_padding=None, dilation_rate=1, **kwargs
    ):
        super().__init__(rank, filters, **kwargs)
        self.kernel_size, self.strides, self.padding, self.dilation_rate = window_args(
            rank, kernel_size, strides, padding, dilation_rate
        )
        self.output_padding = g.check_output_padding(output_padding, self.strides, self.dilation_rate)

    def build(self, input_shape):
        self.check_input(input_shape)
        self.compute_output_shape(input_shape)
        self.add_weights((*self.kernel_size, self.filters, input_shape[-1]), (self.filters,))

    def call(self, inputs):
        kernel = keras.ops.convert_to_tensor(self.kernel)
        outputs = ops.conv_transpose(
            inputs, kernel, self.strides, self.padding, self.output_padding, self.dilation_rate
        )
        return self.finish(outputs)

    def compute_output_shape(self, input_shape):
        out = []
        for i, n in enumerate(input_shape[1:-1]):
            mode = self.padding if isinstance(self.padding, str) else self.padding[i]
            op = None if self.output_padding is None else self.output_padding[i]
            size = (
                None
                if n is None
                else ops.transpose_output_size(n, self.kernel_size[i], self.strides[i], mode, op, self.dilation_rate[i])
            )
            if size is not None and size < 1:
                raise ValueError(f"The output of '{self.name}' would be empty for input shape {tuple(input_shape)}.")
            out.append(size)
        return (input_shape[0], *out, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": serial_padding(self.padding),
                "output_padding": self.output_padding,
                "dilation_rate": self.dilation_rate,
            }
        )
        return config


_ARGS_DOC = """
    Args:
        filters: number of output channels.
        kernel_size, strides, dilation_rate: ints or tuples, as in Keras.
        padding: `"valid"`, `"same"`, `"full"`, an int, or a tuple per spatial dimension.
        output_padding: extra rows on the far side of each axis, smaller than the stride.
        activation, use_bias, *_initializer, *_regularizer, *_constraint: as in Keras.
"""


@keras.saving.register_keras_serializable(package="layers")
class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution ("deconvolution") over `(batch, steps, channels)`.

    Input shape:
        `(batch, steps, in_channels)`.

    Output shape:
        `(batch, new_steps, filters)`; "valid": steps * s + max(K - s, 0), "same": steps * s.

    Examples:
        >>> import numpy as np
        >>> Conv1DTranspose(2, 3, strides=2)(np.zeros((1, 5, 4), "float32")).shape
        TensorShape([1, 11, 2])
    """

    def __init__(
        self, filters, kernel_size, strides=1, padding="valid", output_padding=None, dilation_rate=1, **kwargs
    ):
        super().__init__(1, filters, kernel_size, strides, padding, output_padding, dilation_rate, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution: learned upsampling, the backward pass of a Conv2D.

    Input shape:
        `(batch, height, width, in_channels)`.

    Output shape:
        `(batch, new_height, new_width, filters)`.

    Examples:
        >>> import numpy as np
        >>> Conv2DTranspose(3, 2, strides=2)(np.zeros((1, 7, 7, 8), "float32")).shape
        TensorShape([1, 14, 14, 3])
    """

    def __init__(
        self, filters, kernel_size, strides=1, padding="valid", output_padding=None, dilation_rate=1, **kwargs
    ):
        super().__init__(2, filters, kernel_size, strides, padding, output_padding, dilation_rate, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class Conv3DTranspose(BaseConvTranspose):
    """3D transposed convolution over `(batch, depth, height, width, channels)`.

    Input shape:
        `(batch, depth, height, width, in_channels)`.

    Output shape:
        `(batch, new_depth, new_height, new_width, filters)`.

    Examples:
        >>> import numpy as np
        >>> Conv3DTranspose(1, 2, strides=2)(np.zeros((1, 2, 2, 2, 3), "float32")).shape
        TensorShape([1, 4, 4, 4, 1])
    """

    def __init__(
        self, filters, kernel_size, strides=1, padding="valid", output_padding=None, dilation_rate=1, **kwargs
    ):
        super().__init__(3, filters, kernel_size, strides, padding, output_padding, dilation_rate, **kwargs)


for _cls in (Conv1DTranspose, Conv2DTranspose, Conv3DTranspose):
    _cls.__doc__ = _cls.__doc__.replace("\n    Input shape:", _ARGS_DOC + "\n    Input shape:", 1)
