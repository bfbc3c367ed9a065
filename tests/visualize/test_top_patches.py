"""Top activating patches: on a conv whose filters are known patterns, the images holding each
pattern come first and the crops are the patterns themselves, at the receptive field's size."""

import keras
import numpy as np
import pytest

from pipeline.models import IMPLS
from pipeline.visualize.top_patches import top_activating_patches

CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.float32)
LINE = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]], np.float32)


def pattern_model(impl: str, depth: int = 1) -> keras.Model:
    """Conv 3x3 'valid' with filters (cross, line) scored as correlation minus half the energy;
    `depth` 2 adds a 3x3 conv that passes the centre through (receptive field 5x5)."""
    inputs = keras.Input((16, 16, 1))
    conv = IMPLS[impl].Conv2D(2, 3, name="patterns")
    out = conv(inputs)
    kernel = np.stack([CROSS - 0.5 * (CROSS == 0), LINE - 0.5 * (LINE == 0)], axis=-1)[:, :, None, :]
    layers = [(conv, kernel)]
    if depth == 2:
        second = IMPLS[impl].Conv2D(2, 3, padding="same", name="deeper")
        out = second(out)
        centre = np.zeros((3, 3, 2, 2), np.float32)
        centre[1, 1] = np.eye(2)
        layers.append((second, centre))
    model = keras.Model(inputs, out)
    for layer, k in layers:
        layer.set_weights([k.astype(np.float32), np.zeros(2, np.float32)])
    return model


def images() -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(0)
    x = (0.1 * rng.random((12, 16, 16, 1))).astype(np.float32)
    where = {0: [(0, 2, 3), (1, 9, 9), (2, 12, 1)], 1: [(3, 5, 7), (4, 0, 12), (5, 11, 6)]}
    for f, places in where.items():
        for n, r, c in places:
            x[n, r : r + 3, c : c + 3, 0] = (CROSS, LINE)[f]
    return x, where


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_each_filter_finds_its_pattern_cropped_to_its_field(impl):
    x, where = images()
    found = top_activating_patches(pattern_model(impl), "patterns", x, k=3)
    assert found.patches.shape == (2, 3, 3, 3, 1)
    for f, places in where.items():
        assert sorted(found.images[f]) == [n for n, _, _ in places]
        for patch in found.patches[f]:
            np.testing.assert_allclose(patch[..., 0], (CROSS, LINE)[f], atol=0.11)  # the pattern, plus the noise
        assert np.all(np.diff(found.activations[f]) <= 0)


def test_a_deeper_layer_crops_its_wider_field():
    x, where = images()
    found = top_activating_patches(pattern_model("keras", depth=2), "deeper", x, filters=[0], k=3)
    assert found.patches.shape == (1, 3, 5, 5, 1)  # two 3x3 convs see 5x5
    assert sorted(found.images[0]) == [n for n, _, _ in where[0]]
    for patch in found.patches[0]:  # every cross lies a pixel away from the border at least
        np.testing.assert_allclose(patch[1:4, 1:4, 0], CROSS, atol=0.11)  # the cross in the middle


def test_a_crop_shifts_inside_the_image_at_the_border():
    x, _ = images()  # image 4's line touches the top row
    found = top_activating_patches(pattern_model("keras", depth=2), "deeper", x, filters=[1], k=3)
    border = list(found.images[0]).index(4)
    np.testing.assert_allclose(found.patches[0, border, 0:3, 1:4, 0], LINE, atol=0.11)


def two_valid_convs(size: int, seed: int = 0) -> keras.Model:
    """conv 3x3 'valid' -> ReLU -> conv 3x3 'valid' on `size` x `size` x 2 inputs, positive
    weights (so every unit's input gradient fills its whole 5x5 field), the same for every size."""
    rng = np.random.default_rng(seed)
    model = keras.Sequential(
        [
            keras.Input((size, size, 2)),
            keras.layers.Conv2D(3, 3, activation="relu", name="first"),
            keras.layers.Conv2D(2, 3, name="second"),
        ]
    )
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        layer.set_weights([rng.uniform(0.5, 1.0, kernel.shape).astype(np.float32), rng.normal(size=bias.shape)])
    return model


def test_the_top_patches_are_the_brute_force_best_windows():
    """Every 5x5 window of every image through the same weights on 5x5 inputs (one unit out):
    per image its best window, per filter the k best images; the method must find exactly those."""
    x = np.random.default_rng(1).uniform(size=(10, 10, 10, 2)).astype(np.float32)
    found = top_activating_patches(two_valid_convs(10), "second", x, k=4)
    windows = np.array([[x[n, r : r + 5, c : c + 5] for r in range(6) for c in range(6)] for n in range(10)])
    values = two_valid_convs(5).predict(windows.reshape(-1, 5, 5, 2), verbose=0).reshape(10, 36, 2)
    for f in range(2):
        best = values[..., f].max(axis=1)
        ranked = np.argsort(-best, kind="stable")[:4]
        np.testing.assert_array_equal(found.images[f], ranked)
        np.testing.assert_allclose(found.activations[f], best[ranked], rtol=1e-5)
        for r, n in enumerate(ranked):
            np.testing.assert_array_equal(found.patches[f, r], windows[n, values[n, :, f].argmax()])
