"""Layers with autodiff gradients for those Keras 3 does not have, for `impl="keras"` models.

`layers.LpPooling2D`, `layers.Maxout`, `layers.MaxPooling2D(return_indices=True)` and
`layers.MaxUnpooling2D` have no `keras.layers` twin. These compute the same functions from
TensorFlow ops and let TensorFlow differentiate them, so an `impl="keras"` model is the same
network with every gradient from autodiff. Same arguments, no weights.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

_PACKAGE = "keras_counterparts"  # the serialization name saved models carry: keep it stable


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _same_pads(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding: the total split with the extra pixel after."""
    total = max((math.ceil(size / stride) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


class _Pool2D(keras.layers.Layer):
    """Pool size, strides and padding handled as `keras.layers.MaxPooling2D` does."""

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pair(pool_size)
        self.strides = _pair(strides) if strides is not None else self.pool_size
        self.padding = padding
        self._shape_of = keras.layers.MaxPooling2D(self.pool_size, self.strides, padding)

    def compute_output_shape(self, input_shape):
        return self._shape_of.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LpPooling2D(_Pool2D):
    """`(sum over the window of |x|^p)^(1/p)`: zero padding, then a window sum by average pooling."""

    def __init__(self, pool_size=2, strides=None, padding="valid", p=2.0, **kwargs):
        super().__init__(pool_size, strides, padding, **kwargs)
        self.p = float(p)

    def call(self, inputs):
        powered = tf.abs(inputs) ** self.p
        if self.padding == "same":
            pads = [_same_pads(n, k, s) for n, k, s in zip(inputs.shape[1:3], self.pool_size, self.strides)]
            powered = tf.pad(powered, [[0, 0], *pads, [0, 0]])
        total = tf.nn.avg_pool2d(powered, self.pool_size, self.strides, "VALID") * math.prod(self.pool_size)
        # The root's derivative is infinite at 0; an all-zero window gets gradient 0 instead.
        positive = total > 0
        return tf.where(positive, tf.where(positive, total, 1.0) ** (1.0 / self.p), 0.0)

    def get_config(self):
        return {**super().get_config(), "p": self.p}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MaxPooling2D(_Pool2D):
    """Max pooling that also returns the flat index over (height, width, channels) of each max."""

    def __init__(self, pool_size=2, strides=None, padding="valid", return_indices=True, **kwargs):
        super().__init__(pool_size, strides, padding, **kwargs)
        self.return_indices = return_indices

    def call(self, inputs):
        pooled, indices = tf.nn.max_pool_with_argmax(
            inputs, self.pool_size, self.strides, self.padding.upper(), include_batch_in_index=False
        )
        return (pooled, indices) if self.return_indices else pooled

    def compute_output_shape(self, input_shape):
        shape = super().compute_output_shape(input_shape)
        return (shape, shape) if self.return_indices else shape

    def compute_output_spec(self, inputs):
        # The switches are int64: a model cut at them (e.g. a decoder) must not cast them to float.
        shape = super().compute_output_shape(inputs.shape)
        pooled = keras.KerasTensor(shape, dtype=self.compute_dtype)
        return (pooled, keras.KerasTensor(shape, dtype="int64")) if self.return_indices else pooled

    def get_config(self):
        return {**super().get_config(), "return_indices": self.return_indices}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MaxUnpooling2D(keras.layers.Layer):
    """Scatter each value to the position its max pooling took it from; zeros elsewhere."""

    def __init__(self, size=2, output_size=None, **kwargs):
        super().__init__(**kwargs)
        self.size = _pair(size)
        self.output_size = None if output_size is None else _pair(output_size)

    def call(self, inputs, indices):
        batch, height, width, channels = self.compute_output_shape(inputs.shape, indices.shape)
        per_example = height * width * channels
        offsets = tf.reshape(tf.range(tf.shape(inputs)[0], dtype=tf.int64) * per_example, [-1, 1, 1, 1])
        flat = tf.reshape(indices + offsets, [-1, 1])
        size = tf.cast(tf.shape(inputs)[0], tf.int64) * per_example
        out = tf.scatter_nd(flat, tf.reshape(inputs, [-1]), tf.reshape(size, [1]))
        return tf.reshape(out, [-1, height, width, channels])

    def compute_output_shape(self, inputs_shape, indices_shape=None):
        height, width = self.output_size or (inputs_shape[1] * self.size[0], inputs_shape[2] * self.size[1])
        return (inputs_shape[0], height, width, inputs_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "output_size": self.output_size}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Maxout(keras.layers.Layer):
    """The maximum over `num_units` groups of consecutive channels of the last axis."""

    def __init__(self, num_units: int, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(f"This counterpart supports axis=-1 only. Received: axis={axis}")
        self.num_units, self.axis = num_units, axis

    def call(self, inputs):
        pieces = inputs.shape[-1] // self.num_units
        groups = tf.reshape(inputs, tf.concat([tf.shape(inputs)[:-1], [self.num_units, pieces]], 0))
        return tf.reduce_max(groups, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_units)

    def get_config(self):
        return {**super().get_config(), "num_units": self.num_units, "axis": self.axis}
