"""Grad-CAM++ and Score-CAM against their formulas written out in NumPy, on a conv -> ReLU ->
global mean -> dense model whose gradients at the feature maps have a closed form (the dense
weight over the map's area), and Score-CAM's one-batch bound."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline.models import IMPLS
from pipeline.visualize import ATTRIBUTIONS, grad_cam
from pipeline.visualize.grad_cam_plus_plus import grad_cam_plus_plus
from pipeline.visualize.score_cam import score_cam
from tests.visualize.helpers import Watching, bar_detector, bar_image, watched


def two_filter_model(impl: str, size: int = 12) -> keras.Model:
    inputs = keras.Input((size, size, 1))
    conv = IMPLS[impl].Conv2D(2, 3, padding="same", name="features")
    maps = keras.layers.ReLU(name="features_relu")(conv(inputs))
    head = keras.layers.Dense(3, name="logits")
    model = keras.Model(inputs, head(keras.layers.GlobalAveragePooling2D()(maps)))
    rng = np.random.default_rng(0)
    conv.set_weights([rng.normal(size=(3, 3, 1, 2)).astype(np.float32), np.array([0.1, -0.2], np.float32)])
    head.set_weights([np.array([[2.0, -1.0, 0.5], [1.5, 3.0, -2.0]], np.float32), np.zeros(3, np.float32)])
    return model


@pytest.fixture(scope="module", params=["custom", "keras"])
def setup(request):
    model = two_filter_model(request.param)
    image, _ = bar_image(size=12)
    x = np.stack([image, np.roll(image, 4, axis=1), np.random.default_rng(1).random(image.shape, np.float32)])
    features = keras.Model(model.input, model.get_layer("features_relu").output)(x).numpy()
    return model, x, features


def unit(cam: np.ndarray) -> np.ndarray:
    cam = np.maximum(cam, 0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0)


@pytest.mark.parametrize("c", [0, 1])
def test_grad_cam_plus_plus_is_its_closed_form(setup, c):
    model, x, a = setup
    w = model.get_layer("logits").get_weights()[0][:, c]
    g = w / (a.shape[1] * a.shape[2])  # d logit_c / d A_k at every position: the mean, then the dense weight
    alpha = g**2 / (2 * g**2 + a.sum(axis=(1, 2)) * g**3)  # (N, K)
    weights = alpha * a.shape[1] * a.shape[2] * np.maximum(g, 0)
    expected = unit(np.einsum("nk,nhwk->nhw", weights, a))
    np.testing.assert_allclose(grad_cam_plus_plus(model, x, "features_relu", class_index=c), expected, atol=1e-5)


def test_with_one_positive_channel_grad_cam_plus_plus_is_that_channel(setup):
    """Class 2: only channel 0 has a positive weight. Grad-CAM++ keeps positive gradients only,
    so its map is that channel's; Grad-CAM subtracts channel 1 and differs."""
    model, x, _ = setup
    plus = grad_cam_plus_plus(model, x, "features_relu", class_index=2)
    a = keras.Model(model.input, model.get_layer("features_relu").output)(x).numpy()
    np.testing.assert_allclose(plus, unit(a[..., 0]), atol=1e-5)
    assert not np.allclose(plus, grad_cam(model, x, "features_relu", 2), atol=1e-3)


def test_score_cam_is_its_definition(setup):
    model, x, a = setup
    expected = []
    for image, maps in zip(x, a, strict=True):
        cam = np.zeros(maps.shape[:2])
        for k in range(maps.shape[-1]):
            m = maps[..., k]
            mask = (m - m.min()) / (m.max() - m.min()) if m.max() > m.min() else np.zeros_like(m)
            p = tf.nn.softmax(model((image * mask[..., None])[None], training=False))[0, 1].numpy()
            cam += p * m
        expected.append(cam)
    np.testing.assert_allclose(score_cam(model, x, "features_relu", class_index=1), unit(np.array(expected)), atol=1e-5)


def test_score_cam_sends_one_batch_at_a_time(setup):
    model, x, _ = setup
    score_cam(watched(model), x, "features_relu", class_index=0, batch_size=4)
    assert 0 < Watching.largest <= 4  # 3 images x 2 channels: 6 masked images, in batches of 4 and 2


@pytest.mark.parametrize("name", ["grad_cam", "grad_cam_plus_plus", "score_cam"])
def test_the_peak_lies_on_the_evidence(impl, name):
    """The bar detector's class 0 is the bar's brightness: every CAM peaks on the bar and puts
    more of its mass there than anywhere else."""
    model = bar_detector(impl)
    image, mask = bar_image()
    cam = ATTRIBUTIONS[name](model, image[None], class_index=0)[0]
    assert mask[np.unravel_index(cam.argmax(), cam.shape)]
    assert cam[mask].mean() > 2 * cam[~mask].mean()
