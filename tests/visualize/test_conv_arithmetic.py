"""The convolution-arithmetic animations: every frame's sum is the output cell `layers.ops`
computes (`conv`, `conv_transpose`), the frames cover the output the relationships predict, and
the GIFs are written."""

import numpy as np
import pytest
from PIL import Image

from layers import ops
from pipeline.visualize.conv_arithmetic import CASES, example, frames, reference, write_gifs


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_frame_is_the_ops_output_cell(case):
    x, kernel = example(case, seed=3)
    expected = reference(case, x, kernel)
    if case.transposed:
        assert ops.transpose_output_size(case.i, case.k, case.s, (case.p, case.p), case.a, case.d) == len(expected)
    else:
        assert ops.conv_output_size(case.i, case.k, case.s, case.p, case.d) == len(expected)
    shown = frames(case, x, kernel)
    assert len(shown) == expected.size
    found = np.zeros_like(expected)
    for frame in shown:
        found[frame.cell] = frame.value
    np.testing.assert_allclose(found, expected, atol=1e-5)


def test_the_stride_two_transposed_canvas_holds_the_input_with_zeros_between():
    case = next(c for c in CASES if c.name == "padding_strides_odd_transposed")
    x, kernel = example(case)
    frame = frames(case, x, kernel)[0]
    inner = frame.canvas[1:-2, 1:-2]  # padding (k - 1) - p = 1 before, 1 + a after
    np.testing.assert_array_equal(inner[::2, ::2], x)
    assert frame.real.sum() == x.size and not inner[1::2].any()


def test_the_gifs_are_animations_of_one_frame_per_output_cell(tmp_path):
    case = next(c for c in CASES if c.name == "padding_strides")
    [path] = write_gifs(tmp_path, [case])
    with Image.open(path) as gif:
        assert gif.n_frames == 9  # 3x3 outputs
