"""Orientation tuning: hand-set oriented kernels peak at their own orientation, the responses equal
a NumPy correlation of the stimuli, and the selectivity index follows its definition."""

import keras
import numpy as np
import pytest
from scipy.signal import correlate2d

from pipeline.models import IMPLS
from pipeline.visualize.orientation_tuning import bar, orientation_tuning, selectivity


def line_kernel(angle: float, size: int = 5) -> np.ndarray:
    """A zero-mean kernel: 1 on the cells whose centre lies within 0.75 pixel of the line through
    the middle at `angle` degrees counter-clockwise from horizontal (rows point down), else 0."""
    y, x = np.mgrid[size // 2 : -size // 2 : -1, -(size // 2) : size // 2 + 1]
    on = np.abs(-x * np.sin(np.deg2rad(angle)) + y * np.cos(np.deg2rad(angle))) < 0.75
    return (on - on.mean()).astype(np.float32)


KERNELS = {angle: line_kernel(angle) for angle in (0.0, 45.0, 90.0, 120.0)}
KERNELS |= {180.0 + angle: -kernel for angle, kernel in KERNELS.items()}  # dark lines: "off" cells


def detectors(impl: str) -> keras.Model:
    inputs = keras.Input((24, 24, 1))
    conv = IMPLS[impl].Conv2D(len(KERNELS), 5, padding="valid", name="simple_cells")
    model = keras.Model(inputs, keras.layers.ReLU(name="simple_cells_relu")(conv(inputs)))
    kernel = np.stack(list(KERNELS.values()), axis=-1)[:, :, None, :].astype(np.float32)
    conv.set_weights([kernel, np.zeros(len(KERNELS), np.float32)])
    return model


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_each_oriented_kernel_prefers_its_orientation_and_matches_numpy(impl):
    model = detectors(impl)
    angles, responses = orientation_tuning(model, "simple_cells_relu", angles=12)
    assert angles.tolist() == [15.0 * k for k in range(12)]
    assert responses.shape == (12, 8)
    assert [angles[i] for i in responses.argmax(axis=0)] == [angle % 180 for angle in KERNELS]
    assert (selectivity(angles, responses) > 0.5).all()
    # The reference: each polarity's correlation maximum; the curve of the one with the larger peak.
    bars = [bar((24, 24), angle) for angle in angles]
    for unit, kernel in enumerate(KERNELS.values()):
        curves = [
            [correlate2d(s, kernel, mode="valid").max() for s in stimuli] for stimuli in (bars, [1 - b for b in bars])
        ]
        expected = max(np.maximum(curves, 0.0), key=max)
        np.testing.assert_allclose(responses[:, unit], expected, rtol=1e-5, atol=1e-5)


def test_the_bar_convention_and_the_selectivity_index():
    horizontal, vertical = bar((9, 9), 0.0, width=1.0), bar((9, 9), 90.0, width=1.0)
    assert horizontal[4].tolist() == [1.0] * 9 and horizontal.sum() == 9.0
    np.testing.assert_allclose(vertical, horizontal.T, atol=1e-6)
    assert bar((9, 9), 45.0, width=1.0)[0, 8] > 0.5 > bar((9, 9), 45.0, width=1.0)[0, 0]  # up and to the right
    angles = np.arange(4) * 45.0
    responses = np.array([[4.0, 1.0, 0.0], [2.0, 1.0, 0.0], [1.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    np.testing.assert_allclose(selectivity(angles, responses), [(4 - 1) / (4 + 1), 0.0, 0.0])
