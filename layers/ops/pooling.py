"""Pooling, unpooling, upsampling and maxout with hand-written backward passes (any rank,
channels last).

Every backward pass routes the upstream gradient through the pooling windows:

* max-pooling sends each window's gradient to the window's maximum. On ties the whole gradient
  goes to the first maximum in row-major scan order of the window (as TensorFlow's own kernels);
* average pooling spreads it evenly over the window's real (non-padding) inputs;
* Lp pooling gives each input ``dy * sign(x) |x|^(p-1) / y^(p-1)``;
* maxout (a max over groups of channels) sends each group's gradient to its first maximum.

Max and average pooling run forward and backward on TensorFlow's pooling kernels
(``backprop_kernels``: ``MaxPool``/``MaxPoolGrad``, ``AvgPool``/``AvgPoolGrad``, a 3D pooling as two
2D ones), which give these semantics; ``max_pool_grad_reference`` and ``avg_pool_grad_reference``
compute the same gradients from the definition, through the windows of ``pool_windows``, and the
tests hold the two equal.

Inside a traced graph (``tf.function``, so every training step and attack), the backward passes
of Lp pooling and maxout are compiled by XLA (``compiled``): written as TensorFlow ops they are a
chain of elementwise passes (compare, select, reduce, reshape) that TensorFlow's CPU executor runs
one full pass at a time; XLA fuses the chain into one or two loops. Run eagerly, they stay plain
ops (no compile per call).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from layers.ops import backprop_kernels
from layers.ops import geometry as g
from layers.ops.pool_windows import PoolGeometry, Windows, pool_geometry
from layers.ops.spatial import expand_spatial, interleave


def compiled(backward):
    """`backward` compiled by XLA when called while tracing a graph, as is when eager."""
    fused = tf.function(backward, jit_compile=True, reduce_retracing=True)

    def call(*args):
        return backward(*args) if tf.executing_eagerly() else fused(*args)

    return call


def _tf_padding(geo: PoolGeometry, spatial) -> str:
    same = g.spatial_pads(spatial, geo.pool, geo.strides, "same", (1,) * len(spatial))
    return "SAME" if geo.pads == same and any(p != (0, 0) for p in geo.pads) else "VALID"


def _prepare(x, pool_size, strides, padding):
    x = tf.convert_to_tensor(x)
    if x.shape.rank is None or x.shape.rank < 3:
        raise ValueError(f"Expected an input of rank 3 to 5 (batch, spatial..., channels). Received: x.shape={x.shape}")
    geo = pool_geometry(x.shape[1:-1], pool_size, strides, padding)
    return x, geo, _tf_padding(geo, x.shape[1:-1])


def max_pool(x, pool_size, strides=None, padding="valid") -> tf.Tensor:
    """Max-pooling; the gradient goes to each window's first maximum (see the module doc).

    The backward pass runs TensorFlow's ``MaxPoolGrad`` (``backprop_kernels``), which equals
    ``max_pool_grad_reference``.

    Examples:
        >>> max_pool(tf.reshape(tf.range(16.0), (1, 4, 4, 1)), 2)[0, ..., 0]
        <tf.Tensor: shape=(2, 2), dtype=float32, numpy=
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)>
    """
    x, geo, mode = _prepare(x, pool_size, strides, padding)

    def backward(x, y, stages, dy):
        if backprop_kernels.xla_lacks_deterministic_max_pool_grad():
            return _first_max_backward(x, y, dy, geo)
        return backprop_kernels.pool_grad("MAX", x, stages, dy, mode)

    @tf.custom_gradient
    def _max_pool(x):
        y, stages = backprop_kernels.pool(x, "MAX", geo.pool, geo.strides, mode)
        return y, lambda dy: backward(x, y, stages, dy)

    return _max_pool(x)


def _first_max_backward(x, y, dy, geo: PoolGeometry) -> tf.Tensor:
    """Each window's gradient placed on its first maximum, the windows folded back."""
    windows = Windows(x, geo, pad_value=x.dtype.min)
    return windows.fold(windows.to_first_max(y, dy))


def max_pool_grad_reference(x, y, dy, pool_size, strides=None, padding="valid") -> tf.Tensor:
    """dL/dx of ``max_pool`` by its definition: each window's gradient placed on the window's
    first maximum, the windows folded back onto the input."""
    x, geo, _ = _prepare(x, pool_size, strides, padding)
    return _first_max_backward(x, tf.cast(y, x.dtype), tf.cast(dy, x.dtype), geo)


def _window_counts(spatial, geo: PoolGeometry) -> np.ndarray:
    """How many real (non-padding) inputs each window covers, shaped (1, *out, 1)."""
    per_axis = []
    for n, o, k, s, (pb, _) in zip(spatial, geo.out, geo.pool, geo.strides, geo.pads):
        start = np.arange(o) * s - pb
        per_axis.append(np.minimum(start + k, n) - np.maximum(start, 0))
    counts = np.ones(())
    for c in per_axis:
        counts = np.multiply.outer(counts, c)
    return counts.reshape((1, *geo.out, 1))


def _spread(dy_per_input: tf.Tensor, x: tf.Tensor, geo: PoolGeometry, weights=None) -> tf.Tensor:
    """Send each window's value to every input of the window (times ``weights`` if given)."""
    windows = Windows(x, geo)
    if not windows.tiled:  # offset by offset, no stacked copy
        values = windows.offset_values()
        return windows.fold([dy_per_input if weights is None else dy_per_input * weights(v) for v in values])
    contrib = windows.expand(dy_per_input)
    shape = tf.shape(windows.values) if weights is None else None
    contrib = tf.broadcast_to(contrib, shape) if weights is None else contrib * weights(windows.values)
    return windows.fold(contrib)


def avg_pool(x, pool_size, strides=None, padding="valid") -> tf.Tensor:
    """Average pooling over the real inputs of each window (padding is not counted).

    The backward pass runs TensorFlow's ``AvgPoolGrad`` (``backprop_kernels``), which equals
    ``avg_pool_grad_reference``.
    """
    x, geo, mode = _prepare(x, pool_size, strides, padding)

    @tf.custom_gradient
    def _avg_pool(x):
        y, stages = backprop_kernels.pool(x, "AVG", geo.pool, geo.strides, mode)
        return y, lambda dy: backprop_kernels.pool_grad("AVG", x, stages, dy, mode)

    return _avg_pool(x)


def avg_pool_grad_reference(x, dy, pool_size, strides=None, padding="valid") -> tf.Tensor:
    """dL/dx of ``avg_pool`` by its definition: each window's gradient divided by its count of
    real inputs and spread evenly over them."""
    x, geo, _ = _prepare(x, pool_size, strides, padding)
    counts = _window_counts(x.shape[1:-1], geo)
    return _spread(tf.cast(dy, x.dtype) / tf.constant(counts, x.dtype), x, geo)


def lp_pool(x, pool_size, strides=None, padding="valid", p: float = 2.0) -> tf.Tensor:
    """Lp-norm pooling, ``y = (sum over the window of |x|^p)^(1/p)``; p = 2 is L2 pooling."""
    if not p >= 1:
        raise ValueError(f"Invalid value for argument `p`. Expected a number >= 1. Received: p={p!r}")
    x, geo, mode = _prepare(x, pool_size, strides, padding)
    counts = _window_counts(x.shape[1:-1], geo)

    @compiled
    def backward(x, y, dy):
        scale = tf.math.divide_no_nan(dy, y ** (p - 1.0))
        return _spread(scale, x, geo, weights=lambda v: tf.sign(v) * tf.abs(v) ** (p - 1.0))

    @tf.custom_gradient
    def _lp_pool(x):
        mean, _ = backprop_kernels.pool(tf.abs(x) ** p, "AVG", geo.pool, geo.strides, mode)
        y = (mean * tf.constant(counts, x.dtype)) ** (1.0 / p)
        return y, lambda dy: backward(x, y, dy)

    return _lp_pool(x)


def _input_index_grid(spatial, channels: int) -> np.ndarray:
    """For one example, the flat index over (*spatial, channels) of every element."""
    return np.arange(int(np.prod(spatial)) * channels, dtype=np.int64).reshape((1, *spatial, channels))


def max_pool_with_argmax(x, pool_size, strides=None, padding="valid"):
    """Max-pooling that also returns where each maximum came from.

    Returns:
        ``(y, indices)``: ``indices`` (int64, shaped like ``y``) is the flat index of the
        maximum within its example, over ``(*spatial, channels)`` -- batch excluded, so it
        does not depend on how a batch is split. Ties pick the first maximum, as the gradient.
    """
    x, geo, _ = _prepare(x, pool_size, strides, padding)
    y = max_pool(x, geo.pool, geo.strides, padding)
    windows = Windows(tf.stop_gradient(x), geo, pad_value=x.dtype.min)
    grid = Windows(tf.constant(_input_index_grid(x.shape[1:-1], x.shape[-1])), geo, pad_value=-1)
    mask = windows.first_max_mask(tf.stop_gradient(y))
    picked = tf.where(mask, grid.values, tf.zeros((), tf.int64))
    return y, tf.reduce_max(picked, axis=windows.axes)


def max_unpool(x, indices, output_shape) -> tf.Tensor:
    """Put each value of ``x`` back where ``indices`` says its maximum was; zeros elsewhere.

    Args:
        x: pooled values, `(batch, *pooled, channels)`.
        indices: what ``max_pool_with_argmax`` returned for them.
        output_shape: `(*spatial, channels)` of one example before pooling.

    The backward pass gathers the upstream gradient at the same indices.
    """
    x = tf.convert_to_tensor(x)
    indices = tf.cast(indices, tf.int64)
    size = int(np.prod(output_shape))
    batch = tf.shape(x, out_type=tf.int64)[0]
    offsets = tf.reshape(tf.range(batch) * size, [-1] + [1] * (x.shape.rank - 1))
    flat = tf.reshape(indices + offsets, [-1, 1])

    @tf.custom_gradient
    def _max_unpool(x):
        def grad(dy):
            return tf.reshape(tf.gather_nd(tf.reshape(dy, [-1]), flat), tf.shape(x))

        y = tf.scatter_nd(flat, tf.reshape(x, [-1]), tf.reshape(batch * size, [1]))
        return tf.reshape(y, tf.concat([[-1], list(output_shape)], axis=0)), grad

    return _max_unpool(x)


UPSAMPLING_MODES = ("nearest", "bed_of_nails")


def upsample(x, size, mode: str = "nearest") -> tf.Tensor:
    """Repeat each pixel ``size`` times per axis (nearest) or put it in the block's corner.

    ``bed_of_nails`` places each value at the top-left of its block and zeros elsewhere. The
    backward pass sums each block (nearest) or reads its corner (bed of nails).
    """
    x = tf.convert_to_tensor(x)
    rank = x.shape.rank - 2
    size = g.normalize_tuple(size, rank, "size")
    if mode not in UPSAMPLING_MODES:
        raise ValueError(
            "Invalid value for argument `interpolation`. Expected one "
            f"of {UPSAMPLING_MODES}. Received: interpolation={mode!r}"
        )
    corner = np.zeros([1] + interleave([1] * rank, size) + [1], np.float32)
    corner[(0,) + (slice(None, 1),) * (2 * rank) + (0,)] = 1.0
    block = np.ones_like(corner) if mode == "nearest" else corner
    block_axes = tuple(2 + 2 * i for i in range(rank))
    out_shape = [-1] + [n * s for n, s in zip(x.shape[1:-1], size)] + [x.shape[-1]]

    @tf.custom_gradient
    def _upsample(x):
        def grad(dy):
            blocks = tf.reshape(dy, [-1] + interleave(x.shape[1:-1], size) + [x.shape[-1]])
            return tf.reduce_sum(blocks * tf.constant(block, dy.dtype), axis=block_axes)

        return tf.reshape(expand_spatial(x, rank) * tf.constant(block, x.dtype), out_shape), grad

    return _upsample(x)


def maxout(x, num_units: int, axis: int = -1) -> tf.Tensor:
    """Maxout: split ``axis`` into ``num_units`` groups of consecutive channels, keep each max.

    The gradient goes to the first maximum of each group.
    """
    x = tf.convert_to_tensor(x)
    axis = axis % x.shape.rank
    channels = x.shape[axis]
    if channels is None or channels % num_units:
        raise ValueError(f"The number of channels ({channels}) must be a multiple of `num_units` ({num_units}).")
    pieces = channels // num_units

    def groups_of(t):
        return tf.reshape(t, tf.concat([tf.shape(t)[:axis], [num_units, pieces], tf.shape(t)[axis + 1 :]], axis=0))

    index = np.arange(pieces, dtype=np.int32).reshape([pieces] + [1] * (x.shape.rank - axis - 1))

    @compiled
    def backward(x, y, dy):
        first = tf.argmax(groups_of(x), axis=axis + 1, output_type=tf.int32)  # the first maximum
        hit = tf.equal(tf.constant(index), tf.expand_dims(first, axis + 1))
        routed = tf.where(hit, tf.expand_dims(dy, axis + 1), tf.zeros((), dy.dtype))
        return tf.reshape(routed, tf.shape(x))

    @tf.custom_gradient
    def _maxout(x):
        y = tf.reduce_max(groups_of(x), axis=axis + 1)
        return y, lambda dy: backward(x, y, dy)

    return _maxout(x)
