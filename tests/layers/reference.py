"""NumPy reference implementations, written from the definitions (no TensorFlow)."""

import itertools

import numpy as np


def conv_pads(n, k, s, padding, d=1):
    """(before, after) of one axis: valid, same (TensorFlow's rule), full or an int."""
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        return (0, 0)
    if padding == "full":
        return (k_eff - 1, k_eff - 1)
    if padding == "same":
        total = max((-(-n // s) - 1) * s + k_eff - n, 0)
        return (total // 2, total - total // 2)
    return (padding, padding)


def conv(x, w, strides, padding, dilation):
    """y[n, o, f] = sum over taps t and channels c of xpad[n, o*s + t*d, c] * w[t, c, f]."""
    rank = w.ndim - 2
    pads = [
        conv_pads(
            x.shape[1 + i], w.shape[i], strides[i], padding if isinstance(padding, str) else padding[i], dilation[i]
        )
        for i in range(rank)
    ]
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    out = [(xp.shape[1 + i] - (w.shape[i] - 1) * dilation[i] - 1) // strides[i] + 1 for i in range(rank)]
    y = np.zeros((x.shape[0], *out, w.shape[-1]), dtype=np.float64)
    for tap in itertools.product(*[range(k) for k in w.shape[:rank]]):
        window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in zip(tap, dilation, out, strides))
        y += np.tensordot(xp[(slice(None), *window, slice(None))], w[tap], axes=([-1], [0]))
    return y


def conv_transpose(x, w, out_spatial, strides, pads, dilation):
    """The adjoint of ``conv``: each input pixel adds w[t] (filters, in) at o*s + t*d."""
    rank = w.ndim - 2
    padded = [n + pb + pa for n, (pb, pa) in zip(out_spatial, pads)]
    yp = np.zeros((x.shape[0], *padded, w.shape[-2]), dtype=np.float64)
    out = x.shape[1:-1]
    for tap in itertools.product(*[range(k) for k in w.shape[:rank]]):
        window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in zip(tap, dilation, out, strides))
        yp[(slice(None), *window, slice(None))] += np.tensordot(x, w[tap], axes=([-1], [1]))
    crop = tuple(slice(pb, pb + n) for n, (pb, _) in zip(out_spatial, pads))
    return yp[(slice(None), *crop, slice(None))]


def local_conv(x, w, kernel_size, strides):
    """Locally connected, valid padding: every output position has its own (K*C, F) matrix."""
    rank = len(kernel_size)
    out = [(x.shape[1 + i] - kernel_size[i]) // strides[i] + 1 for i in range(rank)]
    y = np.zeros((x.shape[0], *out, w.shape[-1]))
    for pos, o in enumerate(itertools.product(*[range(n) for n in out])):
        window = tuple(slice(oi * s, oi * s + k) for oi, s, k in zip(o, strides, kernel_size))
        patch = x[(slice(None), *window, slice(None))].reshape(x.shape[0], -1)
        y[(slice(None), *o, slice(None))] = patch @ w[pos]
    return y


def maxout(x, num_units):
    return x.reshape(*x.shape[:-1], num_units, -1).max(axis=-1)


def pool(x, pool_size, strides, padding, kind):
    """Max or average pooling from the definition: windows of `pool_size` every `strides`; "same"
    pads by TensorFlow's rule, and padded cells never win a max or count in an average."""
    rank = len(pool_size)
    pads = [conv_pads(x.shape[1 + i], pool_size[i], strides[i], padding) for i in range(rank)]
    values = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)], constant_values=np.nan)
    out = [(values.shape[1 + i] - pool_size[i]) // strides[i] + 1 for i in range(rank)]
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for o in itertools.product(*[range(n) for n in out]):
        window = tuple(slice(oi * s, oi * s + k) for oi, s, k in zip(o, strides, pool_size))
        patch = values[(slice(None), *window, slice(None))].reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None), *o, slice(None))] = np.nanmax(patch, axis=1) if kind == "max" else np.nanmean(patch, axis=1)
    return y


def transpose_forward(x, w, out_spatial, strides, padding):
    """A transposed conv as Keras defines it: the adjoint of `conv` with `padding` ("valid" or
    "same", TensorFlow's rule) on an input of the layer's output size."""
    rank = w.ndim - 2
    pads = [conv_pads(out_spatial[i], w.shape[i], strides[i], padding) for i in range(rank)]
    return conv_transpose(x, w, out_spatial, strides, pads, (1,) * rank)
