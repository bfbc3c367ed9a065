"""What every layer with a kernel and a bias shares: arguments, weights, config."""

from __future__ import annotations

import keras

from layers import ops
from layers.ops import geometry as g


class KernelLayer(keras.layers.Layer):
    """Base of the conv, transposed-conv and locally connected layers.

    Holds ``filters``, ``activation``, ``use_bias`` and the Keras initializer / regularizer /
    constraint arguments, creates ``kernel`` and ``bias`` with Keras's names, and applies the
    bias (hand-written gradient) and the activation.
    """

    def __init__(
        self,
        rank: int,
        filters: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(
                "Invalid value for argument `filters`. Expected a "
                f"strictly positive integer. Received: filters={filters!r}"
            )
        if data_format not in (None, "channels_last"):
            raise ValueError(
                "Invalid value for argument `data_format`. Only 'channels_last' "
                f"is supported. Received: data_format={data_format!r}"
            )
        self.rank = rank
        self.filters = filters
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.input_spec = keras.layers.InputSpec(min_ndim=rank + 2)

    def check_input(self, input_shape) -> None:
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"Input 0 of layer '{self.name}' should have rank {self.rank + 2} (batch, "
                f"{self.rank} spatial dimensions, channels). Received: input_shape={tuple(input_shape)}"
            )
        if input_shape[-1] is None:
            raise ValueError(f"The channel dimension of the inputs to '{self.name}' must be known.")

    def add_weights(self, kernel_shape, bias_shape) -> None:
        self.kernel = self.add_weight(
            name="kernel",
            shape=kernel_shape,
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=bias_shape,
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def finish(self, outputs):
        """Add the bias and apply the activation."""
        if self.use_bias:
            bias = keras.ops.convert_to_tensor(self.bias)
            outputs = ops.bias_add(outputs, bias)
        return outputs if self.activation is None else self.activation(outputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": keras.regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            }
        )
        return config


def window_args(rank: int, kernel_size, strides, padding, dilation_rate):
    """Check the window arguments of a conv-like layer (Keras's error texts)."""
    kernel_size = g.normalize_tuple(kernel_size, rank, "kernel_size")
    strides = g.normalize_tuple(strides, rank, "strides")
    dilation = g.normalize_tuple(dilation_rate, rank, "dilation_rate")
    g.check_stride_dilation(strides, dilation)
    padding = g.normalize_padding(padding, rank)
    return kernel_size, strides, padding, dilation


def serial_padding(padding):
    """Padding as it goes into a config (tuples become lists in JSON and are read back)."""
    return padding if isinstance(padding, str) else [list(p) for p in padding]
