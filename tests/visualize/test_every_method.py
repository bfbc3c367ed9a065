"""Every method and its figure on models built from our layers and from keras.layers, in float32
and mixed_float16: finite arrays of the documented shapes and value ranges."""

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from pipeline.models import ARCHITECTURES, build_model
from pipeline.visualize import METHODS, grad_cam, occlusion, saliency
from tests.visualize.helpers import context_of


@pytest.mark.parametrize("precision", ["float32", pytest.param("mixed_float16", marks=pytest.mark.slow)])
@pytest.mark.parametrize("impl", ["custom", pytest.param("keras", marks=pytest.mark.slow)])
def test_every_method_on_a_classifier(impl, precision):
    keras.mixed_precision.set_dtype_policy(precision)
    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 3), 10, impl=impl)
    context = context_of(model, channels=3)
    for name, method in METHODS.items():
        if method.skip_reason(context):
            assert name in ("autoencoder", "edges")
            continue
        panels = method.panels(context)
        assert panels and all(isinstance(p.figure, plt.Figure) and p.caption for p in panels), method
        for p in panels:
            plt.close(p.figure)
    assert all(np.isfinite(v) for v in context.metrics.values()) and "erf_theoretical/conv1_relu" in context.metrics
    x = context.shown
    for heat in (saliency(model, x), grad_cam(model, x), occlusion(model, x, patch=8, stride=8)):
        assert heat.shape == (2, 32, 32) and heat.dtype == np.float32 and np.all(np.isfinite(heat))
    assert grad_cam(model, x).min() >= 0 and grad_cam(model, x).max() <= 1


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_autoencoder_panels(impl):
    keras.utils.set_random_seed(0)
    model = build_model("autoencoder", (32, 32, 1), 10, impl=impl, code_size=8, filters=(4, 8))
    context = context_of(model, target="image", code_layer=ARCHITECTURES["autoencoder"].code_layer)
    assert METHODS["saliency"].skip_reason(context) and not METHODS["autoencoder"].skip_reason(context)
    names = [p.name for p in METHODS["autoencoder"].panels(context)]
    assert names == ["interpolation"]  # the reconstructions: the train stage, over the test split


def test_methods_that_do_not_fit_say_why():
    signal_model = build_model("conv1d", (128, 1), 4)
    assert "image inputs" in METHODS["saliency"].skip_reason(context_of(signal_model))
    dense = context_of(build_model("mlp", (8, 8, 1), 4))
    for name in ("grad_cam", "feature_maps", "equivariance", "receptive_field", "filters"):
        assert "no 2D convolution" in METHODS[name].skip_reason(dense), name
    assert "for autoencoders" in METHODS["autoencoder"].skip_reason(dense)
    assert "trained on masks" in METHODS["grad_cam"].skip_reason(
        context_of(build_model("unet", (32, 32, 1), 3), target="mask")
    )
    context = context_of(build_model("linear", (32, 32, 1), 10))
    for name, method in METHODS.items():  # what is left runs on a model without convolutions
        if not method.skip_reason(context):
            assert method.panels(context), name
