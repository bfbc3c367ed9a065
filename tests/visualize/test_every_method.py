"""Every method and its figure on models built from our layers and from keras.layers, in float32
and mixed_float16: finite arrays of the documented shapes and value ranges."""

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from omegaconf import OmegaConf

from pipeline.config import VISUALIZE_METHODS, VisualizeConfig
from pipeline.models import build_model
from pipeline.visualize import grad_cam, occlusion, saliency
from pipeline.visualize.panels import PANELS, Context
from pipeline.visualize.stage import skip_reason

SETTINGS = OmegaConf.merge(OmegaConf.structured(VisualizeConfig), dict(num_images=2, filters_per_layer=2, steps=3,
                                                                      dream_steps=2, embedding_examples=12))


def _context(model, channels: int = 1, target: str = "label") -> Context:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(12, 32, 32, channels)).astype(np.float32)
    y = x if target == "image" else np.arange(12) % 10
    photos = {"chelsea": x[0]} if channels == 3 else {}
    return Context(model, x, y, [f"class {k}" for k in range(10)], SETTINGS, photos)


@pytest.mark.parametrize("precision", ["float32", "mixed_float16"])
@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_every_method_on_a_classifier(impl, precision):
    keras.mixed_precision.set_dtype_policy(precision)
    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 3), 10, impl=impl)
    context = _context(model, channels=3)
    for method in VISUALIZE_METHODS:
        if skip_reason(method, model, "label"):
            assert method == "autoencoder"
            continue
        panels = PANELS[method](context)
        assert panels and all(isinstance(p.figure, plt.Figure) and p.caption for p in panels), method
        for p in panels:
            plt.close(p.figure)
    assert all(np.isfinite(v) for v in context.metrics.values()) and "erf_theoretical/conv1_relu" in context.metrics
    x = context.shown
    for heat in (saliency(model, x), grad_cam(model, x), occlusion(model, x, patch=8, stride=8)):
        assert heat.shape == (2, 32, 32) and heat.dtype == np.float32 and np.all(np.isfinite(heat))
    assert 0 <= grad_cam(model, x).min() and grad_cam(model, x).max() <= 1


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_autoencoder_panels(impl):
    keras.utils.set_random_seed(0)
    model = build_model("autoencoder", (32, 32, 1), 10, impl=impl, code_size=8, filters=(4, 8))
    context = _context(model, target="image")
    assert skip_reason("saliency", model, "image") and not skip_reason("autoencoder", model, "image")
    names = [p.name for p in PANELS["autoencoder"](context)]
    assert names == ["reconstructions", "interpolation"] and context.metrics["reconstruction_mse"] > 0


def test_methods_that_do_not_fit_say_why():
    signal_model = build_model("conv1d", (128, 1), 4)
    assert "image inputs" in skip_reason("saliency", signal_model, "label")
    dense = build_model("mlp", (8, 8, 1), 4)
    for method in ("grad_cam", "feature_maps", "equivariance", "receptive_field", "filters"):
        assert "no 2D convolution" in skip_reason(method, dense, "label"), method
    context = _context(build_model("linear", (32, 32, 1), 10))
    for method in VISUALIZE_METHODS:  # what is left runs on a model without convolutions
        if not skip_reason(method, context.model, "label"):
            assert PANELS[method](context), method
