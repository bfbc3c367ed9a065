"""The convolution's math: the forward pass and both VJPs, the transposed convolution, the bias,
and the Toeplitz matrix of a convolution (see `layers.ops` for the formulas)."""

from __future__ import annotations

import itertools

import numpy as np
import tensorflow as tf

from layers.ops import backprop_kernels, single_position
from layers.ops import geometry as g
from layers.ops.routing import routed, stopped
from layers.ops.spatial import dilate, interleave, pad_or_crop

__all__ = [
    "bias_add",
    "conv",
    "conv_input_vjp",
    "conv_input_vjp_reference",
    "conv_kernel_vjp",
    "conv_kernel_vjp_reference",
    "conv_matrix",
    "conv_transpose",
    "correlate",
    "input_vjp_at",
]


def _check_rank(x: tf.Tensor, rank: int, name: str = "x") -> None:
    if x.shape.rank != rank + 2:
        raise ValueError(
            f"Expected `{name}` of rank {rank + 2} (batch, {rank} spatial dimensions, channels) "
            f"for a {rank}D operation. Received: {name}.shape={tuple(x.shape)}"
        )


def correlate(x: tf.Tensor, kernel: tf.Tensor, strides, pads, dilation) -> tf.Tensor:
    """Cross-correlation with explicit pads, handing TensorFlow "VALID"/"SAME" when they match."""
    spatial = x.shape[1:-1]
    same = g.spatial_pads(spatial, kernel.shape[:-2], strides, "same", dilation)
    if all(p == (0, 0) for p in pads):
        mode = "VALID"
    elif tuple(pads) == same and len(spatial) < 3:
        # (TensorFlow's CPU Conv3D gets some strided "SAME" cases wrong: pad explicitly in 3D.)
        mode = "SAME"
    else:
        x, mode = pad_or_crop(x, pads), "VALID"
    return tf.nn.convolution(x, kernel, strides=strides, padding=mode, dilations=dilation)


def _flip_kernel(kernel: tf.Tensor) -> tf.Tensor:
    """Mirror the kernel in every spatial axis and swap its in/out channel axes."""
    rank = kernel.shape.rank - 2
    flipped = tf.reverse(kernel, axis=list(range(rank)))
    return tf.transpose(flipped, [*range(rank), rank + 1, rank])


def input_vjp_at(dy, kernel, batch_shape, spatial, geo: g.Geometry) -> tf.Tensor:
    """dL/dx of a convolution; ``spatial`` is the static spatial shape of x."""
    rank = len(spatial)
    out_spatial = dy.shape[1:-1]
    if geo.window is not None:  # a fully-connected layer (layers/ops/single_position.py)
        return single_position.input_vjp(dy, kernel, geo.window)
    if max(geo.dilation) > 1:
        # Dilated (so stride 1): correlate the padded upstream gradient with the flipped kernel.
        pairs = g.vjp_pads(spatial, kernel.shape[:rank], geo, out_spatial)
        return correlate(dy, _flip_kernel(kernel), (1,) * rank, pairs, geo.dilation)
    # The transposed-convolution primitive does dilate-by-stride, pad, flip and correlate in one
    # kernel (conv_input_vjp_reference spells them out; the tests hold the two equal). Spelled
    # out, the flip and pad cost up to 3x on small maps with many channels (5x5x16 -> 120).
    same = g.spatial_pads(spatial, kernel.shape[:rank], geo.strides, "same", geo.dilation)
    mode = "VALID" if all(p == (0, 0) for p in geo.pads) else "SAME" if tuple(geo.pads) == same else None
    if mode is None or (mode == "SAME" and rank == 3):  # other pads (and 3D "SAME", see correlate): crop
        padded = [n + pb + pa for n, (pb, pa) in zip(spatial, geo.pads)]
        out_shape = tf.concat([batch_shape[:1], padded, [kernel.shape[-2]]], axis=0)
        dxp = tf.nn.conv_transpose(dy, kernel, out_shape, strides=geo.strides, padding="VALID")
        return pad_or_crop(dxp, [(-pb, -pa) for pb, pa in geo.pads])
    out_shape = tf.concat([batch_shape[:1], list(spatial), [kernel.shape[-2]]], axis=0)
    return tf.nn.conv_transpose(dy, kernel, out_shape, strides=geo.strides, padding=mode)


def _kernel_vjp(x, dy, kernel_spatial, geo: g.Geometry) -> tf.Tensor:
    """dL/dW, by the fastest kernel for the case; every case equals ``_kernel_vjp_formula``."""
    if geo.window is not None:  # a fully-connected layer (layers/ops/single_position.py)
        return single_position.kernel_vjp(x, dy, kernel_spatial, geo.window)
    if all(k == 1 for k in kernel_spatial) and (len(kernel_spatial) < 3 or max(geo.strides) == 1):
        # One matmul over examples and positions: faster than the filter-gradient kernels at stride
        # 1, and never oneDNN's strided 1x1 kernel gradient in 2D, which writes past its buffer
        # (see layers/ops/backprop_kernels.py).
        return _one_by_one_kernel_vjp(x, dy, geo)
    same = g.spatial_pads(x.shape[1:-1], kernel_spatial, geo.strides, "same", geo.dilation)
    return backprop_kernels.filter_grad(x, dy, kernel_spatial, geo.strides, geo.pads, geo.dilation, same)


def _one_by_one_kernel_vjp(x, dy, geo: g.Geometry) -> tf.Tensor:
    """dL/dW of a 1x1 kernel: the input rows the outputs read, times dy, as one matmul. The rows
    are taken as phase 0 of a (rows, stride) reshape: 3-4x faster than a strided slice."""
    out, channels = dy.shape[1:-1], x.shape[-1]
    pairs = [(pb, o * s - n - pb) for n, o, s, (pb, _) in zip(x.shape[1:-1], out, geo.strides, geo.pads)]
    xp = pad_or_crop(x, pairs)
    if max(geo.strides) > 1:
        xp = tf.reshape(xp, [-1, *interleave(out, geo.strides), channels])
        xp = xp[(slice(None), *[i for _ in out for i in (slice(None), 0)], slice(None))]
    flat_x, flat_dy = tf.reshape(xp, [-1, channels]), tf.reshape(dy, [-1, dy.shape[-1]])
    grad = tf.matmul(flat_x, flat_dy, transpose_a=True)
    return tf.reshape(grad, [*[1] * len(out), channels, dy.shape[-1]])


def _used_pads(x, dy, kernel_spatial, geo: g.Geometry) -> list[tuple[int, int]]:
    """Pad ``x`` by ``geo``, and drop trailing rows that no output reads, in one step."""
    extents = [
        g.used_extent(o, k, s, d) for o, k, s, d in zip(dy.shape[1:-1], kernel_spatial, geo.strides, geo.dilation)
    ]
    return [(pb, e - n - pb) for n, e, (pb, _) in zip(x.shape[1:-1], extents, geo.pads)]


def _kernel_vjp_formula(x, dy, kernel_spatial, geo: g.Geometry) -> tf.Tensor:
    """dL/dW as the lectures write it: the padded input correlated with the upstream gradient
    dilated by the stride.

    The examples become channels and the input channels become the batch, so one forward
    convolution sums over examples and output positions: conv stride = the layer's dilation,
    conv dilation = the layer's stride.
    """
    rank = len(kernel_spatial)
    xp = pad_or_crop(x, _used_pads(x, dy, kernel_spatial, geo))
    images = tf.transpose(xp, [rank + 1, *range(1, rank + 1), 0])  # (C_in, *S, N)
    weights = tf.transpose(dy, [*range(1, rank + 1), 0, rank + 1])  # (*O, N, C_out)
    out = tf.nn.convolution(images, weights, strides=geo.dilation, dilations=geo.strides, padding="VALID")
    return tf.transpose(out, [*range(1, rank + 1), 0, rank + 1])  # (*K, C_in, C_out)


def conv(x, kernel, strides=1, padding="valid", dilation_rate=1) -> tf.Tensor:
    """N-D cross-correlation (a deep-learning "convolution") with a hand-written backward pass.

    Args:
        x: `(batch, *spatial, in_channels)`; the spatial dimensions must be known.
        kernel: `(*kernel_size, in_channels, filters)`.
        strides: int or tuple, one per spatial dimension.
        padding: `"valid"`, `"same"`, `"full"`, an int, or a tuple per spatial dimension
            (ints or `(before, after)` pairs).
        dilation_rate: int or tuple; cannot exceed 1 together with `strides`.

    Returns:
        `(batch, *out_spatial, filters)` with out = floor((n + pads - K_eff) / s) + 1.

    Examples:
        >>> conv(tf.reshape([1., 2., 3., 4.], (1, 4, 1)), tf.reshape([1., 2., 3.], (3, 1, 1)))[0, :, 0]
        <tf.Tensor: shape=(2,), dtype=float32, numpy=array([14., 20.], dtype=float32)>
    """
    x = tf.convert_to_tensor(x)
    kernel = tf.convert_to_tensor(kernel, dtype=x.dtype)
    rank = kernel.shape.rank - 2
    _check_rank(x, rank)
    geo = g.conv_geometry(x.shape[1:-1], kernel.shape[:-2], strides, padding, dilation_rate)

    if max(geo.dilation) > 1:
        return _dilated_conv(x, kernel, geo)
    x_, kernel_ = stopped(x, kernel)

    def input_vjp(dy):
        return input_vjp_at(dy, kernel, tf.shape(x), x.shape[1:-1], geo)

    def kernel_vjp(dy):
        return _kernel_vjp(x, dy, kernel.shape[:-2], geo)

    if geo.window is None:
        y = correlate(x_, kernel_, geo.strides, geo.pads, geo.dilation)
    else:  # one output position (LeNet's conv3, a head made fully convolutional): a matrix product
        y = single_position.forward(x_, kernel_, geo.window)
    return routed(y, [(x, input_vjp), (kernel, kernel_vjp)])


def _dilated_conv(x, kernel, geo: g.Geometry) -> tf.Tensor:
    """A dilated conv (so stride 1) run on the dilation's phases, as Keras runs it: each phase of
    the input is a batch of its own (``space_to_batch_nd``), where the kernel reads consecutive
    rows, so the forward pass is an undilated convolution and both VJPs are TensorFlow's backprop
    kernels, on the phases the forward pass made (equal to the formulas: see ``conv``'s tests)."""
    rank = kernel.shape.rank - 2
    kernel_spatial, spatial = kernel.shape[:rank], x.shape[1:-1]
    out = [g.output_size(n, k, 1, p, d) for n, k, p, d in zip(spatial, kernel_spatial, geo.pads, geo.dilation)]
    x_pads, dy_pads = backprop_kernels.phase_pads(spatial, kernel_spatial, out, geo.pads, geo.dilation)
    x_, kernel_ = stopped(x, kernel)
    phases = tf.space_to_batch_nd(x_, geo.dilation, x_pads)
    y = tf.batch_to_space(tf.nn.convolution(phases, kernel_, padding="VALID"), geo.dilation, dy_pads)
    ones, zeros = (1,) * rank, ((0, 0),) * rank

    def input_vjp(dy):
        dy_phases = tf.space_to_batch_nd(dy, geo.dilation, dy_pads)
        d_phases = tf.nn.conv_transpose(dy_phases, kernel, tf.shape(phases), strides=1, padding="VALID")
        return tf.batch_to_space(d_phases, geo.dilation, x_pads)

    def kernel_vjp(dy):
        dy_phases = tf.space_to_batch_nd(dy, geo.dilation, dy_pads)
        return backprop_kernels.filter_grad(phases, dy_phases, kernel_spatial, ones, zeros, ones, zeros)

    return routed(y, [(x, input_vjp), (kernel, kernel_vjp)])


def conv_input_vjp(dy, kernel, input_shape, strides=1, padding="valid", dilation_rate=1) -> tf.Tensor:
    """dL/dx of ``conv`` given the upstream gradient ``dy`` and the input's shape."""
    dy, kernel = tf.convert_to_tensor(dy), tf.convert_to_tensor(kernel)
    input_shape = tf.TensorShape(input_shape)
    geo = g.conv_geometry(input_shape[1:-1], kernel.shape[:-2], strides, padding, dilation_rate)
    batch = tf.shape(dy)[:1] if input_shape[0] is None else tf.constant([input_shape[0]])
    return input_vjp_at(dy, tf.cast(kernel, dy.dtype), batch, input_shape[1:-1], geo)


def conv_input_vjp_reference(dy, kernel, input_shape, strides=1, padding="valid", dilation_rate=1):
    """The input VJP spelled out as the lectures do: dilate, pad, flip, correlate.

    1. insert ``stride - 1`` zeros between the rows of ``dy`` (undo the subsampling);
    2. pad by ``K_eff - 1`` minus the forward padding on each side (a "full" correlation);
    3. mirror the kernel and swap its channel axes;
    4. correlate with stride 1 and the forward dilation.
    """
    dy = tf.convert_to_tensor(dy)
    kernel = tf.cast(kernel, dy.dtype)
    input_shape = tf.TensorShape(input_shape)
    spatial = input_shape[1:-1]
    rank = len(spatial)
    geo = g.conv_geometry(spatial, kernel.shape[:rank], strides, padding, dilation_rate)
    dilated = dilate(dy, geo.strides)
    pairs = g.vjp_pads(spatial, kernel.shape[:rank], geo, dy.shape[1:-1])
    padded = pad_or_crop(dilated, pairs)
    return tf.nn.convolution(padded, _flip_kernel(kernel), padding="VALID", dilations=geo.dilation)


def conv_kernel_vjp(x, dy, kernel_shape, strides=1, padding="valid", dilation_rate=1) -> tf.Tensor:
    """dL/dW of ``conv`` given its input ``x`` and the upstream gradient ``dy``, as ``conv``'s
    backward pass computes it (TensorFlow's kernel-gradient op in most cases)."""
    x, dy = tf.convert_to_tensor(x), tf.convert_to_tensor(dy)
    kernel_spatial = tuple(kernel_shape)[:-2]
    geo = g.conv_geometry(x.shape[1:-1], kernel_spatial, strides, padding, dilation_rate)
    return _kernel_vjp(x, tf.cast(dy, x.dtype), kernel_spatial, geo)


def conv_kernel_vjp_reference(x, dy, kernel_shape, strides=1, padding="valid", dilation_rate=1) -> tf.Tensor:
    """dL/dW of ``conv`` spelled out as the lectures do: the padded input correlated with the
    upstream gradient dilated by the stride, as one forward convolution (the examples as channels,
    the input channels as the batch)."""
    x, dy = tf.convert_to_tensor(x), tf.convert_to_tensor(dy)
    kernel_spatial = tuple(kernel_shape)[:-2]
    geo = g.conv_geometry(x.shape[1:-1], kernel_spatial, strides, padding, dilation_rate)
    return _kernel_vjp_formula(x, tf.cast(dy, x.dtype), kernel_spatial, geo)


def conv_transpose(x, kernel, strides=1, padding="valid", output_padding=None, dilation_rate=1) -> tf.Tensor:
    """Transposed convolution: the input VJP of the conv that maps its output back to ``x``.

    Args:
        x: `(batch, *spatial, in_channels)`.
        kernel: `(*kernel_size, filters, in_channels)` (the Keras layout).

    Its own backward pass: dL/dx is the forward ``conv`` of dL/dy, and dL/dW is the conv kernel
    VJP with dL/dy as the input and x as the upstream gradient.
    """
    x = tf.convert_to_tensor(x)
    kernel = tf.convert_to_tensor(kernel, dtype=x.dtype)
    rank = kernel.shape.rank - 2
    _check_rank(x, rank)
    out_spatial, geo = g.transpose_geometry(
        x.shape[1:-1], kernel.shape[:rank], strides, padding, output_padding, dilation_rate
    )

    x_, kernel_ = stopped(x, kernel)

    def input_vjp(dy):
        return correlate(dy, kernel, geo.strides, geo.pads, geo.dilation)

    def kernel_vjp(dy):
        return _kernel_vjp(dy, x, kernel.shape[:rank], geo)

    y = input_vjp_at(x_, kernel_, tf.shape(x_), out_spatial, geo)
    return routed(y, [(x, input_vjp), (kernel, kernel_vjp)])


def bias_add(x, bias) -> tf.Tensor:
    """``x + bias``, the bias broadcast over the leading axes: the batch and, for a bias of rank 1,
    every position (a locally connected layer has one bias per position). Its gradient is the
    upstream gradient summed over those axes."""
    x = tf.convert_to_tensor(x)
    bias = tf.convert_to_tensor(bias, dtype=x.dtype)
    axes = list(range(x.shape.rank - bias.shape.rank))

    def input_vjp(dy):
        return dy

    def bias_vjp(dy):
        if bias.shape.rank == 1:  # TensorFlow's kernel (it accumulates half precision in float32)
            return tf.raw_ops.BiasAddGrad(out_backprop=dy)
        return tf.cast(tf.reduce_sum(tf.cast(dy, tf.float32), axis=axes), bias.dtype)

    x_, bias_ = stopped(x, bias)
    y = tf.nn.bias_add(x_, bias_) if bias.shape.rank == 1 else x_ + bias_
    return routed(y, [(x, input_vjp), (bias, bias_vjp)])


def conv_matrix(kernel, input_shape, strides=1, padding="valid", dilation_rate=1) -> np.ndarray:
    """The dense matrix M of ``conv`` for one example: ``conv(x).ravel() == M @ x.ravel()``.

    Built directly from the definition, independent of any conv op: row i is one output element,
    column j one input element, and M[i, j] the kernel weight that multiplies x_j in y_i (zero
    when x_j is outside y_i's window). For a single channel it is the lectures' Toeplitz matrix.

    Args:
        kernel: `(*kernel_size, in_channels, filters)`.
        input_shape: `(*spatial, in_channels)` of one example (no batch axis).
    """
    w = np.asarray(kernel)
    rank = w.ndim - 2
    spatial = tuple(input_shape)[:rank]
    geo = g.conv_geometry(spatial, w.shape[:rank], strides, padding, dilation_rate)
    out = [
        g.output_size(n, k, s, p, d)
        for n, k, s, p, d in zip(spatial, w.shape[:rank], geo.strides, geo.pads, geo.dilation)
    ]
    c_in, c_out = w.shape[-2:]
    m = np.zeros((int(np.prod(out)), c_out, int(np.prod(spatial)), c_in), dtype=w.dtype)
    grid = np.stack(np.meshgrid(*[np.arange(o) for o in out], indexing="ij"), -1).reshape(-1, rank)
    for tap in itertools.product(*[range(k) for k in w.shape[:rank]]):
        coords = grid * geo.strides + np.array(tap) * geo.dilation - [p[0] for p in geo.pads]
        inside = np.all((coords >= 0) & (coords < spatial), axis=1)
        cols = np.ravel_multi_index(coords[inside].T, spatial)
        m[np.flatnonzero(inside), :, cols, :] += w[tap].T
    return m.reshape(int(np.prod(out)) * c_out, int(np.prod(spatial)) * c_in)
