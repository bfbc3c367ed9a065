"""Pooling layers (max, average, Lp) whose backward pass routes gradients by hand."""

from __future__ import annotations

import keras

from layers import ops
from layers.ops import geometry as g
from layers.ops.pool_windows import POOL_PADDINGS


class BasePooling(keras.layers.Layer):
    """N-D pooling over channels-last inputs with Keras 3's arguments.

    Backward passes (see ``layers.ops``): max-pooling routes each window's gradient to its
    maximum -- on ties, to the first maximum in row-major scan order of the window; average
    pooling spreads it evenly over the window's real inputs; Lp pooling weights it by
    ``sign(x) |x|^(p-1) / y^(p-1)``.
    """

    def __init__(self, rank, pool_function, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.pool_function = pool_function
        self.pool_size = g.normalize_tuple(pool_size, rank, "pool_size")
        self.strides = self.pool_size if strides is None else g.normalize_tuple(strides, rank, "strides")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        if self.padding not in POOL_PADDINGS:
            raise ValueError(
                f"Invalid value for argument `padding`. Expected one of {POOL_PADDINGS}. Received: padding={padding!r}"
            )
        if data_format not in (None, "channels_last"):
            raise ValueError(
                "Invalid value for argument `data_format`. Only 'channels_last' "
                f"is supported. Received: data_format={data_format!r}"
            )
        self.input_spec = keras.layers.InputSpec(ndim=rank + 2)

    def call(self, inputs):
        return self.pool_function(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        ones = (1,) * self.rank
        out = g.output_spatial(input_shape[1:-1], self.pool_size, self.strides, self.padding, ones, what="pool window")
        return (input_shape[0], *out, input_shape[-1])

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding})
        return config


@keras.saving.register_keras_serializable(package="layers")
class MaxPooling1D(BasePooling):
    """1D max-pooling; the gradient goes to each window's maximum.

    Args:
        pool_size: int or tuple of 1 ints. Default 2.
        strides: int or tuple; defaults to `pool_size`.
        padding: `"valid"` or `"same"`.

    Input shape:
        `(batch, *spatial (1 axes), channels)`.

    Output shape:
        `(batch, *pooled, channels)`, pooled = floor((n - pool) / stride) + 1 ("valid").

    Examples:
        >>> import numpy as np
        >>> MaxPooling1D(2)(np.zeros((1, 6, 3), "float32")).shape
        TensorShape([1, 3, 3])
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(1, ops.max_pool, pool_size, strides, padding, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class MaxPooling3D(BasePooling):
    """3D max-pooling; the gradient goes to each window's maximum.

    Args:
        pool_size: int or tuple of 3 ints. Default 2.
        strides: int or tuple; defaults to `pool_size`.
        padding: `"valid"` or `"same"`.

    Input shape:
        `(batch, *spatial (3 axes), channels)`.

    Output shape:
        `(batch, *pooled, channels)`, pooled = floor((n - pool) / stride) + 1 ("valid").

    Examples:
        >>> import numpy as np
        >>> MaxPooling3D(2)(np.zeros((1, 4, 4, 4, 1), "float32")).shape
        TensorShape([1, 2, 2, 2, 1])
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(3, ops.max_pool, pool_size, strides, padding, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class AveragePooling1D(BasePooling):
    """1D average pooling.

    Args:
        pool_size: int or tuple of 1 ints. Default 2.
        strides: int or tuple; defaults to `pool_size`.
        padding: `"valid"` or `"same"`.

    Input shape:
        `(batch, *spatial (1 axes), channels)`.

    Output shape:
        `(batch, *pooled, channels)`, pooled = floor((n - pool) / stride) + 1 ("valid").

    Examples:
        >>> import numpy as np
        >>> AveragePooling1D(3)(np.zeros((1, 9, 2), "float32")).shape
        TensorShape([1, 3, 2])
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(1, ops.avg_pool, pool_size, strides, padding, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class AveragePooling2D(BasePooling):
    """2D average pooling.

    Args:
        pool_size: int or tuple of 2 ints. Default 2.
        strides: int or tuple; defaults to `pool_size`.
        padding: `"valid"` or `"same"`.

    Input shape:
        `(batch, *spatial (2 axes), channels)`.

    Output shape:
        `(batch, *pooled, channels)`, pooled = floor((n - pool) / stride) + 1 ("valid").

    Examples:
        >>> import numpy as np
        >>> AveragePooling2D(2)(np.zeros((1, 4, 4, 1), "float32")).shape
        TensorShape([1, 2, 2, 1])
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(2, ops.avg_pool, pool_size, strides, padding, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class AveragePooling3D(BasePooling):
    """3D average pooling.

    Args:
        pool_size: int or tuple of 3 ints. Default 2.
        strides: int or tuple; defaults to `pool_size`.
        padding: `"valid"` or `"same"`.

    Input shape:
        `(batch, *spatial (3 axes), channels)`.

    Output shape:
        `(batch, *pooled, channels)`, pooled = floor((n - pool) / stride) + 1 ("valid").

    Examples:
        >>> import numpy as np
        >>> AveragePooling3D(2)(np.zeros((1, 4, 4, 4, 1), "float32")).shape
        TensorShape([1, 2, 2, 2, 1])
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(3, ops.avg_pool, pool_size, strides, padding, **kwargs)


@keras.saving.register_keras_serializable(package="layers")
class MaxPooling2D(BasePooling):
    """2D max-pooling; the gradient goes to each window's maximum (first one on ties).

    Args:
        pool_size: int or tuple of 2 ints. Default 2.
        strides: int or tuple; defaults to `pool_size`.
        padding: `"valid"` or `"same"`.
        return_indices: also return, per output, the flat index of its maximum within the
            example (over height, width, channels), for `MaxUnpooling2D`.

    Input shape:
        `(batch, height, width, channels)`.

    Output shape:
        `(batch, pooled_height, pooled_width, channels)`, and the indices when asked.

    Examples:
        >>> import numpy as np
        >>> y, idx = MaxPooling2D(2, return_indices=True)(np.arange(16.0, dtype="float32").reshape(1, 4, 4, 1))
        >>> idx.numpy().ravel().tolist()
        [5, 7, 13, 15]
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", return_indices=False, **kwargs):
        super().__init__(2, ops.max_pool, pool_size, strides, padding, **kwargs)
        self.return_indices = return_indices

    def call(self, inputs):
        if self.return_indices:
            return ops.max_pool_with_argmax(inputs, self.pool_size, self.strides, self.padding)
        return super().call(inputs)

    def compute_output_shape(self, input_shape):
        shape = super().compute_output_shape(input_shape)
        return (shape, shape) if self.return_indices else shape

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape(inputs.shape)
        if not self.return_indices:
            return keras.KerasTensor(shape, dtype=self.compute_dtype)
        return keras.KerasTensor(shape[0], dtype=self.compute_dtype), keras.KerasTensor(shape[1], dtype="int64")

    def get_config(self):
        config = super().get_config()
        config["return_indices"] = self.return_indices
        return config


@keras.saving.register_keras_serializable(package="layers")
class LpPooling2D(BasePooling):
    """2D Lp-norm pooling, ``(sum over the window of |x|^p)^(1/p)``; L2 pooling by default.

    Args:
        pool_size: int or tuple of 2 ints. Default 2.
        strides: int or tuple; defaults to `pool_size`.
        padding: `"valid"` or `"same"`.
        p: the norm's order, >= 1. Default 2.

    Input shape:
        `(batch, height, width, channels)`.

    Output shape:
        `(batch, pooled_height, pooled_width, channels)`.

    Examples:
        >>> import numpy as np
        >>> float(LpPooling2D(2)(np.full((1, 2, 2, 1), 3.0, "float32"))[0, 0, 0, 0])
        6.0
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", p=2.0, **kwargs):
        super().__init__(2, self._pool, pool_size, strides, padding, **kwargs)
        if not (isinstance(p, (int, float)) and p >= 1):
            raise ValueError(f"Invalid value for argument `p`. Expected a number >= 1. Received: p={p!r}")
        self.p = float(p)

    def _pool(self, x, pool_size, strides, padding):
        return ops.lp_pool(x, pool_size, strides, padding, self.p)

    def get_config(self):
        config = super().get_config()
        config["p"] = self.p
        return config
