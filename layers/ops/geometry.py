"""Argument checking and the shape arithmetic of every layer family: output sizes, padding, and
the checked geometry of a convolution and a transposed convolution (strides, explicit pads,
dilation, the one window a single-position convolution reads, the pads of the input VJP).

Padding is normalised to one explicit ``(before, after)`` pair per spatial dimension, computed
from the input size, so forward and backward passes agree on exactly which rows were added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

Padding = str | int | Sequence[int] | Sequence[Sequence[int]]
PADDING_MODES = ("valid", "same", "full")


def normalize_tuple(value, rank: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ``rank`` integers, checking they are positive.

    Raises:
        ValueError: naming ``name`` and the received value when it is not valid.
    """
    items = (value,) * rank if isinstance(value, int) else tuple(value)
    lowest = 0 if allow_zero else 1
    if len(items) != rank or not all(isinstance(v, int) and v >= lowest for v in items):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected an integer or a tuple of {rank} "
            f"{kind} integers. Received: {name}={value!r}"
        )
    return items


def normalize_padding(padding: Padding, rank: int, name: str = "padding"):
    """Check ``padding`` and return a mode string or a tuple of ``(before, after)`` pairs."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in PADDING_MODES:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected one of {PADDING_MODES}, an "
                f"integer, or a tuple of integers per spatial dimension. Received: {name}={padding!r}"
            )
        return mode
    try:
        if isinstance(padding, int):
            pairs = ((padding, padding),) * rank
        else:
            pairs = tuple((p, p) if isinstance(p, int) else tuple(p) for p in padding)
        valid = len(pairs) == rank and all(len(p) == 2 and all(isinstance(v, int) and v >= 0 for v in p) for p in pairs)
    except TypeError:
        valid = False
    if not valid:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected one of {PADDING_MODES}, a non-negative "
            f"integer, or a tuple of {rank} non-negative integers (or (before, after) pairs). "
            f"Received: {name}={padding!r}"
        )
    return pairs


def check_stride_dilation(strides: tuple[int, ...], dilation: tuple[int, ...]) -> None:
    """Strides and dilation above 1 together are not supported (as in Keras)."""
    if max(strides) > 1 and max(dilation) > 1:
        raise ValueError(
            "`strides > 1` is not supported together with `dilation_rate > 1`. "
            f"Received: strides={strides} and dilation_rate={dilation}"
        )


def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """The extent a dilated kernel covers: (K - 1) * D + 1."""
    return (kernel_size - 1) * dilation + 1


def pad_amounts(n: int, kernel_size: int, stride: int = 1, padding="valid", dilation: int = 1):
    """The ``(before, after)`` padding of one spatial dimension of size ``n``.

    ``"same"`` follows TensorFlow: the output has ceil(n / stride) positions and an odd total
    padding puts the extra row after. ``"full"`` pads K_eff - 1 on both sides.
    """
    k = effective_kernel_size(kernel_size, dilation)
    if padding == "valid":
        return (0, 0)
    if padding == "full":
        return (k - 1, k - 1)
    if padding == "same":
        total = max((-(-n // stride) - 1) * stride + k - n, 0)
        return (total // 2, total - total // 2)
    if isinstance(padding, int):
        return (padding, padding)
    return tuple(padding)


def output_size(n: int, kernel_size: int, stride: int = 1, pads=(0, 0), dilation: int = 1) -> int:
    """M = floor((N + P_before + P_after - K_eff) / S) + 1, the lecture's formula."""
    k = effective_kernel_size(kernel_size, dilation)
    return (n + pads[0] + pads[1] - k) // stride + 1


def spatial_pads(spatial, kernel_size, strides, padding, dilation):
    """``pad_amounts`` for every spatial dimension; ``padding`` as ``normalize_padding`` returns."""
    return tuple(
        pad_amounts(n, k, s, padding if isinstance(padding, str) else padding[i], d)
        for i, (n, k, s, d) in enumerate(zip(spatial, kernel_size, strides, dilation))
    )


def check_spatial(spatial, kernel_size, pads, dilation, strides, what: str = "kernel") -> None:
    """Raise when a spatial size is unknown or smaller than the (dilated) kernel."""
    for n, k, p, d, s in zip(spatial, kernel_size, pads, dilation, strides):
        if n is None:
            raise ValueError(
                f"The spatial dimensions of the input must be known; received spatial shape {tuple(spatial)}"
            )
        if output_size(n, k, s, p, d) < 1:
            raise ValueError(
                f"The {what} (size {tuple(kernel_size)}, dilation {tuple(dilation)}) is larger than the "
                f"padded input: received input spatial shape {tuple(spatial)} with padding {tuple(pads)}"
            )


def output_spatial(spatial, kernel_size, strides, padding, dilation, what: str = "kernel") -> list:
    """Output spatial shape of a conv-like op, ``None`` where the input size is unknown.

    Raises:
        ValueError: when a known size is smaller than the (dilated) window.
    """
    out = []
    for i, (n, k, s, d) in enumerate(zip(spatial, kernel_size, strides, dilation)):
        if n is None:
            out.append(None)
            continue
        pads = pad_amounts(n, k, s, padding if isinstance(padding, str) else padding[i], d)
        size = output_size(n, k, s, pads, d)
        if size < 1:
            raise ValueError(
                f"The {what} (size {tuple(kernel_size)}, dilation {tuple(dilation)}) is larger than the "
                f"padded input: received input spatial shape {tuple(spatial)} with padding {padding!r}"
            )
        out.append(size)
    return out


def check_output_padding(output_padding, strides, dilation):
    """``None`` or a tuple of non-negative ints, each smaller than its stride (or dilation)."""
    if output_padding is None:
        return None
    output_padding = normalize_tuple(output_padding, len(strides), "output_padding", allow_zero=True)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, strides, dilation)):
        raise ValueError(
            "`output_padding` must be smaller than the stride (or dilation). Received: "
            f"output_padding={output_padding}, strides={strides}, dilation_rate={dilation}"
        )
    return output_padding


def window(spatial, kernel_spatial, strides, pads, dilation):
    """The ``(before, after)`` pads that cut the input to the one window a convolution reads, when
    it reads one (every output size 1, no dilation); else None."""
    if max(dilation) > 1:
        return None
    if any(output_size(n, k, s, p) != 1 for n, k, s, p in zip(spatial, kernel_spatial, strides, pads)):
        return None
    return tuple((pb, k - n - pb) for n, k, (pb, _) in zip(spatial, kernel_spatial, pads))


class Geometry(NamedTuple):
    """Checked strides, explicit ``(before, after)`` pads and dilation of one convolution, and the
    pads that cut its input to the one window it reads when it reads one (``single_position``)."""

    strides: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    window: tuple[tuple[int, int], ...] | None


def make_geometry(spatial, kernel_spatial, strides, pads, dilation) -> Geometry:
    return Geometry(strides, pads, dilation, window(spatial, kernel_spatial, strides, pads, dilation))


def conv_geometry(spatial, kernel_spatial, strides=1, padding="valid", dilation_rate=1) -> Geometry:
    """Validate a convolution's arguments against an input's spatial shape."""
    rank = len(kernel_spatial)
    strides = normalize_tuple(strides, rank, "strides")
    dilation = normalize_tuple(dilation_rate, rank, "dilation_rate")
    check_stride_dilation(strides, dilation)
    padding = normalize_padding(padding, rank)
    pads = spatial_pads(spatial, kernel_spatial, strides, padding, dilation)
    check_spatial(spatial, kernel_spatial, pads, dilation, strides)
    return make_geometry(spatial, kernel_spatial, strides, pads, dilation)


def used_extent(n_out: int, kernel_size: int, stride: int, dilation: int) -> int:
    """How many padded input rows a convolution with ``n_out`` outputs reads."""
    return (n_out - 1) * stride + effective_kernel_size(kernel_size, dilation)


def vjp_pads(spatial, kernel_spatial, geo: Geometry, out_spatial):
    """Pads that turn the (stride-dilated) upstream gradient into the input VJP's input."""
    pairs = []
    for n, k, s, d, (pb, pa), o in zip(spatial, kernel_spatial, geo.strides, geo.dilation, geo.pads, out_spatial):
        k_eff = effective_kernel_size(k, d)
        unused = n + pb + pa - used_extent(o, k, s, d)  # trailing rows no output reads
        pairs.append((k_eff - 1 - pb, k_eff - 1 - pa + unused))
    return tuple(pairs)


def transpose_output_size(n: int, kernel_size: int, stride: int, padding, output_padding, dilation: int) -> int:
    """Length of a transposed convolution's output (Keras's rule, extended to full/explicit)."""
    k = effective_kernel_size(kernel_size, dilation)
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
    strides = normalize_tuple(strides, rank, "strides")
    dilation = normalize_tuple(dilation_rate, rank, "dilation_rate")
    check_stride_dilation(strides, dilation)
    padding = normalize_padding(padding, rank)
    output_padding = check_output_padding(output_padding, strides, dilation)
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
    pads = spatial_pads(out, kernel_spatial, strides, padding, dilation)
    back = [output_size(n, k, s, p, d) for n, k, s, p, d in zip(out, kernel_spatial, strides, pads, dilation)]
    if tuple(back) != tuple(spatial):
        raise ValueError(
            f"With padding={padding!r} and output_padding={output_padding}, an output of spatial shape "
            f"{tuple(out)} does not convolve back to the input's {tuple(spatial)} (an even kernel with "
            "'same' padding needs output_padding=None or 'valid')."
        )
    return tuple(out), make_geometry(out, kernel_spatial, strides, pads, dilation)


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding=0, dilation: int = 1) -> int:
    """M = floor((N + 2P - K_eff) / S) + 1 with K_eff = (K - 1) * D + 1.

    ``padding`` is an int P or ``"valid"`` (0), ``"same"`` (M = ceil(N / S)) or ``"full"`` (K_eff - 1).

    Examples:
        >>> conv_output_size(5, 2, stride=3)
        2
    """
    padding = normalize_padding(padding, 1)
    mode = padding if isinstance(padding, str) else padding[0]
    pads = pad_amounts(n, kernel_size, stride, mode, dilation)
    return output_size(n, kernel_size, stride, pads, dilation)
