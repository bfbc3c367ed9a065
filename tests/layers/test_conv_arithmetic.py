"""The output-size relationships of Dumoulin and Visin, "A guide to convolution arithmetic for deep
learning" (2016), table-driven: each relationship's closed form against `conv_output_size` /
`transpose_output_size`, the shapes `ops.conv` / `ops.conv_transpose` produce, and the layers'
`compute_output_shape` (ours, and Keras's where it has the padding)."""

import keras
import numpy as np
import pytest

import layers
from layers import ops

# (relationship, i, k, s, p, d): p an int, or "same" / "full" where the relationship names them.
CONVOLUTIONS = [
    ("R1 no padding, unit strides: o = (i - k) + 1", [(4, 3, 1, 0, 1), (7, 5, 1, 0, 1), (6, 6, 1, 0, 1)]),
    ("R2 zero padding, unit strides: o = (i - k) + 2p + 1", [(5, 4, 1, 2, 1), (7, 3, 1, 1, 1), (3, 5, 1, 3, 1)]),
    ("R3 half padding (k odd): o = i", [(5, 3, 1, "same", 1), (8, 5, 1, "same", 1), (9, 7, 1, "same", 1)]),
    ("R4 full padding: o = i + (k - 1)", [(5, 3, 1, "full", 1), (4, 4, 1, "full", 1), (2, 5, 1, "full", 1)]),
    ("R5 no padding, strides: o = floor((i - k) / s) + 1", [(5, 3, 2, 0, 1), (6, 3, 2, 0, 1), (10, 4, 3, 0, 1)]),
    ("R6 padding and strides: o = floor((i + 2p - k) / s) + 1", [(5, 3, 2, 1, 1), (6, 3, 2, 1, 1), (11, 5, 3, 2, 1)]),
    (
        "R15 dilation: o = floor((i + 2p - k - (k - 1)(d - 1)) / s) + 1",
        [(7, 3, 1, 0, 2), (12, 3, 1, 1, 3), (9, 2, 1, "full", 4)],
    ),
]


def closed_form(i: int, k: int, s: int, p, d: int) -> int:
    p = {"same": k // 2, "full": (k - 1) * d}.get(p, p) if isinstance(p, str) else p
    return (i + 2 * p - k - (k - 1) * (d - 1)) // s + 1


CONV_CASES = [(name, *case) for name, cases in CONVOLUTIONS for case in cases]


@pytest.mark.parametrize("name, i, k, s, p, d", CONV_CASES, ids=[f"{c[0][:3]}-{c[1:]}" for c in CONV_CASES])
def test_convolution_relationships(name, i, k, s, p, d):  # strides and dilation are never both above 1
    o = closed_form(i, k, s, p, d)
    if name.startswith("R3"):
        assert o == i
    if name.startswith("R4"):
        assert o == i + k - 1
    assert ops.conv_output_size(i, k, s, p, d) == o
    x, kernel = np.zeros((1, i, i, 1), np.float32), np.zeros((k, k, 1, 2), np.float32)
    assert ops.conv(x, kernel, s, p, d).shape == (1, o, o, 2)
    assert layers.Conv2D(2, k, s, padding=p, dilation_rate=d).compute_output_shape((1, i, i, 1)) == (1, o, o, 2)
    if p == 0 or (p == "same" and s == 1):  # the paddings Keras has
        keras_padding = "valid" if p == 0 else "same"
        keras_conv = keras.layers.Conv2D(2, k, s, padding=keras_padding, dilation_rate=d)
        assert keras_conv.compute_output_shape((1, i, i, 1)) == (1, o, o, 2)


@pytest.mark.parametrize("i, k, s", [(5, 3, 1), (5, 3, 2), (6, 2, 2), (7, 3, 3), (224, 3, 2)])
def test_pooling_relationship(i, k, s):
    # R7: o = floor((i - k) / s) + 1, for any pooling.
    o = (i - k) // s + 1
    for pool in (layers.MaxPooling2D, layers.AveragePooling2D, keras.layers.MaxPooling2D):
        assert pool(k, s).compute_output_shape((1, i, i, 3)) == (1, o, o, 3)
    assert layers.MaxPooling2D(k, s)(np.zeros((1, i, i, 3), np.float32)).shape == (1, o, o, 3)


# The transposed convolution of a convolution (i, k, s, p) takes its output size i' = o back to i:
# o' = s (i' - 1) + a + k - 2p with a = (i + 2p - k) mod s (R14; R8-R13 are its special cases).
TRANSPOSED = [
    ("R8 no padding, unit strides: o' = i' + (k - 1)", [(4, 3, 1, 0), (6, 5, 1, 0)]),
    ("R9 zero padding, unit strides: o' = i' + (k - 1) - 2p", [(5, 4, 1, 2), (7, 3, 1, 1)]),
    ("R10 half padding: o' = i'", [(5, 3, 1, 1), (8, 5, 1, 2)]),
    ("R11 full padding: o' = i' - (k - 1)", [(5, 3, 1, 2), (4, 4, 1, 3)]),
    ("R12 no padding, strides, s divides i - k: o' = s (i' - 1) + k", [(5, 3, 2, 0), (10, 4, 3, 0)]),
    ("R13 padding, strides, s divides i + 2p - k: o' = s (i' - 1) + k - 2p", [(5, 3, 2, 1), (10, 5, 3, 2)]),
    ("R14 padding, strides, a = (i + 2p - k) mod s: o' = s (i' - 1) + a + k - 2p", [(6, 3, 2, 1), (12, 5, 3, 2)]),
]
TRANSPOSED_CASES = [(name, *case) for name, cases in TRANSPOSED for case in cases]


@pytest.mark.parametrize("name, i, k, s, p", TRANSPOSED_CASES, ids=[f"{c[0][:3]}-{c[1:]}" for c in TRANSPOSED_CASES])
def test_transposed_relationships(name, i, k, s, p):
    forward = closed_form(i, k, s, p, 1)  # i', the transposed convolution's input
    a = (i + 2 * p - k) % s
    if not name.startswith("R14"):
        assert a == 0  # R8-R13 are the cases without a leftover
    assert s * (forward - 1) + a + k - 2 * p == i
    assert ops.transpose_output_size(forward, k, s, (p, p), a, 1) == i
    x, kernel = np.zeros((1, forward, forward, 2), np.float32), np.zeros((k, k, 1, 2), np.float32)
    assert ops.conv_transpose(x, kernel, s, p, a if s > 1 else None).shape == (1, i, i, 1)
    transposed = layers.Conv2DTranspose(1, k, s, padding=p, output_padding=a if s > 1 else None)
    assert transposed.compute_output_shape((1, forward, forward, 2)) == (1, i, i, 1)
    if p == 0:  # Keras's "valid"
        keras_transposed = keras.layers.Conv2DTranspose(1, k, s, padding="valid", output_padding=a if s > 1 else None)
        assert tuple(keras_transposed.compute_output_shape((1, forward, forward, 2))) == (1, i, i, 1)
