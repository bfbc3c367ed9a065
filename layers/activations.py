"""Activation layers with hand-written backward passes."""

from __future__ import annotations

import keras

from layers import ops


@keras.saving.register_keras_serializable(package="layers")
class Maxout(keras.layers.Layer):
    """Maxout (Goodfellow et al., 2013): the maximum over groups of linear pieces.

    The channels along ``axis`` are split into ``num_units`` groups of consecutive channels
    and each group keeps its maximum; a conv or dense layer with ``k * num_units`` outputs
    followed by ``Maxout(num_units)`` is a maxout unit with ``k`` pieces. The gradient goes to
    each group's maximum (the first one on ties).

    Args:
        num_units: number of outputs; must divide the size of `axis`.
        axis: the channel axis. Default -1.

    Input shape:
        any, with `input_shape[axis]` a multiple of `num_units`.

    Output shape:
        the input's, with `num_units` along `axis`.

    Examples:
        >>> import numpy as np
        >>> Maxout(2)(np.array([[1.0, 5.0, -2.0, 3.0]], "float32")).numpy().tolist()
        [[5.0, 3.0]]
    """

    def __init__(self, num_units: int, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_units, int) or num_units <= 0:
            raise ValueError(
                "Invalid value for argument `num_units`. Expected a "
                f"positive integer. Received: num_units={num_units!r}"
            )
        self.num_units = num_units
        self.axis = axis

    def build(self, input_shape):
        channels = input_shape[self.axis]
        if channels is None or channels % self.num_units:
            raise ValueError(
                f"The size of axis {self.axis} ({channels}) must be a multiple of `num_units` "
                f"({self.num_units}). Received: input_shape={tuple(input_shape)}"
            )

    def call(self, inputs):
        return ops.maxout(inputs, self.num_units, self.axis)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.axis] = self.num_units
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"num_units": self.num_units, "axis": self.axis})
        return config
