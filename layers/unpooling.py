"""Unpooling layers: max-unpooling with the pooling's indices, nearest and bed-of-nails."""

from __future__ import annotations

import keras

from layers import ops
from layers.ops import geometry as g


@keras.saving.register_keras_serializable(package="layers")
class MaxUnpooling2D(keras.layers.Layer):
    """Max-unpooling: each value goes back to where its max-pooling window found its maximum.

    Called as ``layer(x, indices)`` with the indices of ``MaxPooling2D(return_indices=True)``
    (or ``ops.max_pool_with_argmax``). Every other position is zero. The backward pass
    gathers the upstream gradient at the same indices.

    Args:
        size: the pooling's pool size (int or tuple of 2); the output is `size` times larger.
        output_size: `(height, width)` before pooling, when it was not a multiple of `size`.

    Input shape:
        `(batch, height, width, channels)` and indices of the same shape.

    Output shape:
        `(batch, height * size[0], width * size[1], channels)` or `output_size`.

    Examples:
        >>> import numpy as np
        >>> from layers import MaxPooling2D
        >>> x = np.arange(16.0, dtype="float32").reshape(1, 4, 4, 1)
        >>> y, idx = MaxPooling2D(2, return_indices=True)(x)
        >>> MaxUnpooling2D(2)(y, idx)[0, ..., 0].numpy().tolist()[1]
        [0.0, 5.0, 0.0, 7.0]
    """

    def __init__(self, size=2, output_size=None, **kwargs):
        super().__init__(**kwargs)
        self.size = g.normalize_tuple(size, 2, "size")
        self.output_size = None if output_size is None else g.normalize_tuple(output_size, 2, "output_size")

    def call(self, inputs, indices):
        out = self.compute_output_shape(inputs.shape, indices.shape)
        return ops.max_unpool(inputs, indices, out[1:])

    def compute_output_shape(self, inputs_shape, indices_shape):
        input_shape = inputs_shape
        if len(input_shape) != 4:
            raise ValueError(
                "Expected inputs of rank 4 (batch, height, width, "
                f"channels). Received: input_shape={tuple(input_shape)}"
            )
        spatial = self.output_size or tuple(None if n is None else n * s for n, s in zip(input_shape[1:3], self.size))
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "output_size": self.output_size})
        return config


@keras.saving.register_keras_serializable(package="layers")
class UpSampling2D(keras.layers.Layer):
    """Upsampling without weights: nearest-neighbour repetition or "bed of nails".

    Args:
        size: int or tuple of 2 ints, the upsampling factors. Default 2.
        interpolation: `"nearest"` (repeat each pixel over its block) or `"bed_of_nails"`
            (the pixel in the block's top-left corner, zeros elsewhere).

    Input shape:
        `(batch, height, width, channels)`.

    Output shape:
        `(batch, height * size[0], width * size[1], channels)`.

    Examples:
        >>> import numpy as np
        >>> UpSampling2D(2, "bed_of_nails")(np.ones((1, 1, 1, 1), "float32"))[0, ..., 0].numpy().tolist()
        [[1.0, 0.0], [0.0, 0.0]]
    """

    def __init__(self, size=2, interpolation="nearest", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = g.normalize_tuple(size, 2, "size")
        if interpolation not in ("nearest", "bed_of_nails"):
            raise ValueError(
                "Invalid value for argument `interpolation`. Expected 'nearest' or 'bed_of_nails'. "
                f"Received: interpolation={interpolation!r}"
            )
        if data_format not in (None, "channels_last"):
            raise ValueError(
                "Invalid value for argument `data_format`. Only 'channels_last' "
                f"is supported. Received: data_format={data_format!r}"
            )
        self.interpolation = interpolation
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        return ops.upsample(inputs, self.size, self.interpolation)

    def compute_output_shape(self, input_shape):
        spatial = [None if n is None else n * s for n, s in zip(input_shape[1:3], self.size)]
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "interpolation": self.interpolation})
        return config
