"""The model-randomization check: a method that reads the model loses its maps as the layers are
re-drawn, a method that only reads the image keeps them (the failure Adebayo et al. found), the
steps go from the top layer down, and the model under test is left as it was."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from pipeline.visualize.randomization import randomization_check, ssim
from tests.visualize.helpers import edges


@pytest.fixture(scope="module")
def checked(digits_lenet):  # the tests that use it are slow: three checks of five layers each
    model, x = digits_lenet.model, digits_lenet.x[:8]
    weights = [w.copy() for w in model.get_weights()]
    steps = {name: randomization_check(model, name, x, seed=0) for name in ("saliency", "grad_cam")}
    steps["edges"] = randomization_check(model, edges, x, seed=0)
    return model, weights, steps


@pytest.mark.slow
def test_maps_of_a_method_that_reads_the_model_decorrelate(checked):
    _, _, steps = checked
    assert steps["saliency"][-1].spearman < 0.5 and steps["grad_cam"][-1].spearman < 0.5, steps


@pytest.mark.slow
def test_a_method_blind_to_the_model_stays_the_same(checked):
    _, _, steps = checked
    assert all(s.spearman == pytest.approx(1.0) and s.ssim == pytest.approx(1.0, abs=1e-4) for s in steps["edges"])


@pytest.mark.slow
def test_steps_go_from_the_top_layer_down_and_the_model_is_untouched(checked):
    model, weights, steps = checked
    with_weights = [layer.name for layer in model.layers if layer.weights]
    assert [s.layer for s in steps["saliency"]] == with_weights[::-1]
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_ssim_is_scikit_images():
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 20, 20)), rng.random((2, 20, 20))
    b[:, 5:15] = a[:, 5:15]  # partly alike
    units = [(m - m.min(axis=(1, 2), keepdims=True)) / np.ptp(m, axis=(1, 2), keepdims=True) for m in (a, b)]
    reference = np.mean(
        [
            structural_similarity(
                p, q, data_range=1.0, win_size=11, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
            )
            for p, q in zip(*units, strict=True)
        ]
    )
    assert ssim(a, b) == pytest.approx(reference, abs=2e-3)
