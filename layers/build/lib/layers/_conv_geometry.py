"""The shape arithmetic of a convolution and a transposed convolution: output sizes, checked
geometry (strides, explicit pads, dilation, the one window), and the pads of the input VJP."""

from __future__ import annotations

from typing import NamedTuple

from layers import _geometry as g
from layers import _one_window as one_window


class Geometry(NamedTuple):
    """Checked strides, explicit ``(before, after)`` pads and dilation of one convolution, and the
    pads that cut its input to the one window it reads when it reads one (``_one_window``)."""

    strides: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    window: tuple[tuple[int, int], ...] | None


def geometry(spatial, kernel_spatial, strides, pads, dilation) -> Geometry:
    return Geometry(strides, pads, dilation, one_window.window(spatial, kernel_spatial, strides, pads, dilation))


def conv_geometry(spatial, kernel_spatial, strides=1, padding="valid", dilation_rate=1) -> Geometry:
    """Validate a convolution's arguments against an input's spatial shape."""
    rank = len(kernel_spatial)
    strides = g.normalize_tuple(strides, rank, "strides")
    dilation = g.normalize_tuple(dilation_rate, rank, "dilation_rate")
    g.check_stride_dilation(strides, dilation)
    padding = g.normalize_padding(padding, rank)
    pads = g.spatial_pads(spatial, kernel_spatial, strides, padding, dilation)
    g.check_spatial(spatial, kernel_spatial, pads, dilation, strides)
    return geometry(spatial, kernel_spatial, strides, pads, dilation)


def used_extent(n_out: int, kernel_size: int, stride: int, dilation: int) -> int:
    """How many padded input rows a convolution with ``n_out`` outputs reads."""
    return (n_out - 1) * stride + g.effective_kernel_size(kernel_size, dilation)


def vjp_pads(spatial, kernel_spatial, geo: Geometry, out_spatial):
    """Pads that turn the (stride-dilated) upstream gradient into the input VJP's input."""
    pairs = []
    for n, k, s, d, (pb, pa), o in zip(spatial, kernel_spatial, geo.strides, geo.dilation, geo.pads, out_spatial):
        k_eff = g.effective_kernel_size(k, d)
        unused = n + pb + pa - used_extent(o, k, s, d)  # trailing rows no output reads
        pairs.append((k_eff - 1 - pb, k_eff - 1 - pa + unused))
    return tuple(pairs)


def transpose_output_size(n: int, kernel_size: int, stride: int, padding, output_padding, dilation: int) -> int:
    """Length of a transposed convolution's output (Keras's rule, extended to full/explicit)."""
    k = g.effective_kernel_size(kernel_size, dilation)
    if output_padding is None:
        if padding == "valid":
            return n * stride + max(k - stride, 0)
        if padding == "same":
            return n * stride
        output_padding = 0
    total = (
        {"valid": 0, "same": 2 * (k // 2), "full": 2 * (k - 1)}.get(padding)
        if isinstance(padding, str)
        else sum(padding)
    )
    return (n - 1) * stride + k - total + output_padding


def transpose_geometry(spatial, kernel_spatial, strides=1, padding="valid", output_padding=None, dilation_rate=1):
    """Output spatial shape and the geometry of the forward conv a transposed conv inverts."""
    rank = len(kernel_spatial)
    strides = g.normalize_tuple(strides, rank, "strides")
    dilation = g.normalize_tuple(dilation_rate, rank, "dilation_rate")
    g.check_stride_dilation(strides, dilation)
    padding = g.normalize_padding(padding, rank)
    output_padding = g.check_output_padding(output_padding, strides, dilation)
    out = []
    for i, (n, k, s, d) in enumerate(zip(spatial, kernel_spatial, strides, dilation)):
        mode = padding if isinstance(padding, str) else padding[i]
        op = None if output_padding is None else output_padding[i]
        size = transpose_output_size(n, k, s, mode, op, d)
        if size < 1:
            raise ValueError(
                "The transposed convolution's output would be empty: input spatial shape "
                f"{tuple(spatial)}, kernel {tuple(kernel_spatial)}, padding {padding!r}"
            )
        out.append(size)
    pads = g.spatial_pads(out, kernel_spatial, strides, padding, dilation)
    back = [g.output_size(n, k, s, p, d) for n, k, s, p, d in zip(out, kernel_spatial, strides, pads, dilation)]
    if tuple(back) != tuple(spatial):
        raise ValueError(
            f"With padding={padding!r} and output_padding={output_padding}, an output of spatial shape "
            f"{tuple(out)} does not convolve back to the input's {tuple(spatial)} (an even kernel with "
            "'same' padding needs output_padding=None or 'valid')."
        )
    return tuple(out), geometry(out, kernel_spatial, strides, pads, dilation)


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding=0, dilation: int = 1) -> int:
    """M = floor((N + 2P - K_eff) / S) + 1 with K_eff = (K - 1) * D + 1.

    ``padding`` is an int P or ``"valid"`` (0), ``"same"`` (M = ceil(N / S)) or ``"full"`` (K_eff - 1).

    Example:
    >>> conv_output_size(5, 2, stride=3)
    2
    """
    padding = g.normalize_padding(padding, 1)
    mode = padding if isinstance(padding, str) else padding[0]
    pads = g.pad_amounts(n, kernel_size, stride, mode, dilation)
    return g.output_size(n, kernel_size, stride, pads, dilation)
