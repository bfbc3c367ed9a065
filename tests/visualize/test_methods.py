"""Each method against an independent reference: closed-form gradients, models whose evidence is
known, the receptive-field arithmetic of the lecture, exact equivariance of circular convs."""

import keras
import numpy as np
import pytest

from pipeline.models import IMPLS, build_model
from pipeline.visualize import (
    activation_maximization,
    effective_receptive_field,
    equivariance,
    grad_cam,
    interpolate,
    occlusion,
    reconstructions,
    saliency,
    smoothgrad,
)
from pipeline.visualize.activation_maximization import _start
from pipeline.visualize.feature_maps import feature_maps
from tests.visualize.helpers import bar_detector, bar_image, circular_pad


def test_saliency_of_a_linear_model_is_its_weights(impl):
    model = build_model("linear", (6, 5, 3), 4, impl=impl)
    x = np.random.default_rng(0).uniform(size=(3, 6, 5, 3)).astype(np.float32)
    kernel = model.get_layer("logits").kernel.numpy()  # (90, 4): d logit_c / d x = kernel[:, c]
    for c in range(4):
        expected = np.abs(kernel[:, c].reshape(6, 5, 3)).max(axis=-1)
        np.testing.assert_allclose(saliency(model, x, class_index=c), np.broadcast_to(expected, (3, 6, 5)), rtol=1e-5)
    predicted = model(x).numpy().argmax(axis=-1)
    np.testing.assert_allclose(
        saliency(model, x)[1], np.abs(kernel[:, predicted[1]].reshape(6, 5, 3)).max(axis=-1), rtol=1e-5
    )


def test_smoothgrad_of_a_linear_model_equals_saliency(impl):
    """A linear model's gradient does not depend on the input, so noise changes nothing."""
    model = build_model("linear", (6, 5, 1), 3, impl=impl)
    x = np.random.default_rng(1).uniform(size=(2, 6, 5, 1)).astype(np.float32)
    np.testing.assert_allclose(
        smoothgrad(model, x, class_index=2, samples=3), saliency(model, x, class_index=2), rtol=1e-5
    )


def test_grad_cam_puts_its_heat_on_the_evidence(impl):
    model, (image, mask) = bar_detector(impl), bar_image()
    cam = grad_cam(model, image[None], "detector_relu", class_index=0)[0]
    assert cam.shape == (16, 16) and cam.max() == pytest.approx(1.0)
    assert cam[mask].mean() > 4 * cam[~mask].mean()
    assert mask[np.unravel_index(np.argmax(cam), cam.shape)]
    # Class 1 has only negative evidence: Grad-CAM's ReLU leaves nothing.
    assert np.all(grad_cam(model, image[None], "detector_relu", class_index=1) == 0)


def test_occlusion_is_lowest_on_the_evidence(impl):
    model, (image, mask) = bar_detector(impl), bar_image()
    heat = occlusion(model, image[None], class_index=0, patch=2, stride=1, value=0.0)[0]
    assert heat.shape == (16, 16)
    assert mask[np.unravel_index(np.argmin(heat), heat.shape)]
    assert heat[mask].max() < np.median(heat[~mask])
    assert heat.max() <= 1.0 and heat.min() >= 0.0


def _gain(model, layer: str, filters: list, start_level: float) -> np.ndarray:
    """Each filter's mean activation on its maximising image over that on the start image."""
    images = activation_maximization(model, layer, filters, steps=48, seed=0, start_level=start_level)
    before = feature_maps(model, _start(model, len(filters), 0, start_level), [layer])[layer]
    after = feature_maps(model, images, [layer])[layer]
    assert images.shape == (len(filters), 32, 32, 1) and images.min() >= 0 and images.max() <= 1
    return np.array([after[i, ..., f].mean() / before[i, ..., f].mean() for i, f in enumerate(filters)])


def test_activation_maximization_raises_the_filter_at_least_5x(digits_lenet):
    """From dark noise (the digits' background) every filter ends >= 5x as active; from noise at
    the data's mean pixel the [0, 1] range caps the gain lower, still >= 3x."""
    model, mean_pixel = digits_lenet.model, digits_lenet.mean_pixel
    filters = list(range(16))
    with np.errstate(divide="ignore", invalid="ignore"):
        dark, mean = _gain(model, "conv2_relu", filters, 0.1), _gain(model, "conv2_relu", filters, mean_pixel)
    alive = np.isfinite(dark) & np.isfinite(mean)  # a filter silent at the start has no gradient to climb
    assert alive.sum() >= 12
    assert np.all(dark[alive] >= 5), dark
    assert np.all(mean[alive] >= 3), mean
    assert activation_maximization(model, "conv1_relu", 2, steps=4).shape == (32, 32, 1)


@pytest.mark.parametrize(
    "stack, extent",
    [
        ([dict(kernel_size=3)] * 3, 7),  # the lecture: three 3x3 = one 7x7
        ([dict(kernel_size=3, strides=2), dict(kernel_size=3)], 7),  # 3 + (3 - 1) * 2
        ([dict(kernel_size=3, dilation_rate=2), dict(kernel_size=3)], 7),  # 5 + 2
        ([dict(kernel_size=5)], 5),
    ],
    ids=["three_3x3", "strided", "dilated", "one_5x5"],
)
def test_receptive_field_of_stacked_convs(impl, stack, extent):
    keras.utils.set_random_seed(0)
    x = inputs = keras.Input((21, 21, 1))
    for i, settings in enumerate(stack):
        x = IMPLS[impl].Conv2D(4, name=f"c{i}", **settings)(x)  # no activation: every weight path counts
    model = keras.Model(inputs, x)
    field = effective_receptive_field(
        model, f"c{len(stack) - 1}", np.random.default_rng(0).uniform(size=(4, 21, 21, 1))
    )
    assert field.measured == (extent, extent)
    assert field.theoretical == (extent, extent)
    assert field.gradient.shape == (21, 21)


def test_receptive_field_through_pooling_branches_and_a_transposed_conv(impl):
    """Read from the model's own graph: a stride-1 transposed conv widens like a conv (3 + 2), a
    max-pool adds (2 - 1) * 1, a merge takes its widest branch, checked against the gradient."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((21, 21, 1))
    a = IMPLS[impl].Conv2D(2, 3, padding="same", name="a")(inputs)
    wide = IMPLS[impl].Conv2DTranspose(2, 3, padding="same", name="wide")(a)
    pooled = IMPLS[impl].MaxPooling2D(2, strides=1, padding="same", name="pool")(wide)
    merged = keras.layers.Add(name="merge")([pooled, IMPLS[impl].Conv2D(2, 1, name="narrow")(inputs)])
    model = keras.Model(inputs, merged)
    x = np.random.default_rng(0).uniform(size=(4, 21, 21, 1))
    assert (
        effective_receptive_field(model, "wide", x).measured
        == (5, 5)
        == effective_receptive_field(model, "wide", x).theoretical
    )
    assert effective_receptive_field(model, "merge", x).theoretical == (6, 6)
    assert effective_receptive_field(model, "merge", x).stride == (1, 1)


def test_upsampling_does_not_widen_the_theoretical_field(impl):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = IMPLS[impl].Conv2D(2, 3, padding="same", name="a")(inputs)
    x = IMPLS[impl].Conv2DTranspose(2, 3, strides=2, padding="same", name="up")(x)
    model = keras.Model(inputs, x)
    assert effective_receptive_field(model, "up", np.zeros((1, 8, 8, 1))).theoretical == (3, 3)


def _one_conv(impl: str, padding: str, strides: int = 1) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 2))
    x = keras.layers.Lambda(lambda t: circular_pad(t, 1), name="wrap")(inputs) if padding == "circular" else inputs
    conv = IMPLS[impl].Conv2D(3, 3, strides=strides, padding="valid" if padding == "circular" else "same", name="conv")
    return keras.Model(inputs, conv(x))


@pytest.mark.parametrize("strides", [1, 2])
def test_a_circular_conv_is_exactly_equivariant(impl, strides):
    x = np.random.default_rng(0).uniform(size=(3, 16, 16, 2)).astype(np.float32)
    circular = equivariance(_one_conv(impl, "circular", strides), x, "conv")
    assert circular.stride == (strides, strides)
    assert circular.equivariance_error < 1e-6
    # Zero padding breaks it at the border, and a one-pixel shift is not invariance.
    assert equivariance(_one_conv(impl, "zeros", strides), x, "conv").equivariance_error > 1e-2
    assert circular.invariance_change > 0.1


def test_autoencoder_interpolation_ends_at_the_reconstructions(impl):
    keras.utils.set_random_seed(0)
    model = build_model("autoencoder", (16, 16, 1), 10, impl=impl, code_size=8, filters=(4, 8))
    x = np.random.default_rng(0).uniform(size=(2, 16, 16, 1)).astype(np.float32)
    line = interpolate(model, x[0], x[1], "code", steps=5)
    rebuilt = reconstructions(model, x)
    assert line.shape == (5, 16, 16, 1)
    np.testing.assert_allclose(line[0], rebuilt[0], atol=1e-6)
    np.testing.assert_allclose(line[-1], rebuilt[1], atol=1e-6)
