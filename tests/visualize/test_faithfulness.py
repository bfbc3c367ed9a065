"""Faithfulness metrics: Deletion and Insertion AUC and MuFidelity against a plain NumPy loop of
their definitions, the order they put a true map, a random map and an inverted map in, and the
one-batch-at-a-time bound on what the model sees."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from pipeline.models import build_model
from pipeline.visualize import ATTRIBUTIONS, METHODS
from pipeline.visualize.faithfulness import baseline_images, faithfulness, random_maps
from tests.visualize.helpers import SETTINGS, Watching, bar_detector, bar_image, context_of, edges, watched


def reference(model, x, maps, classes, fill, steps, grid, subset, samples, seed):
    """The definitions, one image and one step at a time."""

    def prob(images):
        return tf.nn.softmax(model(np.asarray(images, np.float32), training=False)).numpy()

    out = {"deletion_auc": [], "insertion_auc": [], "mufidelity": []}
    removed = np.random.default_rng(seed).random((samples, grid, grid)) < subset
    for image, m, c, f in zip(x, maps, classes, fill, strict=True):
        order = np.argsort(-m.ravel(), kind="stable")
        chunk = int(np.ceil(m.size / steps))
        for name, start, end in (("deletion_auc", image, f), ("insertion_auc", f, image)):
            curve = []
            for k in range(steps + 1):
                moved = np.zeros(m.size, bool)
                moved[order[: k * chunk]] = True
                curve.append(prob([np.where(moved.reshape(m.shape)[..., None], end, start)])[0, c])
            out[name].append(np.trapezoid(curve, dx=1 / steps))
        mass, drops = [], []
        for cells in removed:
            mask = np.kron(cells, np.ones((m.shape[0] // grid, m.shape[1] // grid))).astype(bool)
            mass.append(m[mask].sum())
            drops.append(prob([image])[0, c] - prob([np.where(mask[..., None], f, image)])[0, c])
        out["mufidelity"].append(np.corrcoef(mass, drops)[0, 1])
    return {k: np.array(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def bars():
    """The bar detector (class 0: bright pixels) on 3 bar images shifted down, with maps: the bar
    itself, a random map, and the bar's complement."""
    model = bar_detector("keras", size=18)
    image, mask = bar_image(size=18)
    x = np.stack([np.roll(image, shift, axis=0) for shift in (0, 3, 6)])
    truth = np.stack([np.roll(mask, shift, axis=0) for shift in (0, 3, 6)]).astype(np.float32)
    return model, x, {"true": truth, "random": random_maps(truth.shape, seed=1), "inverted": 1.0 - truth}


@pytest.mark.parametrize("baseline", ["zero", "blur"])
def test_the_metrics_follow_their_definitions(bars, baseline):
    model, x, maps = bars
    settings = {"steps": 9, "grid": 9, "subset": 0.2, "samples": 40, "seed": 3}
    for m in maps.values():
        ours = faithfulness(model, x, m, class_index=0, baseline=baseline, batch_size=7, **settings)
        expected = reference(model, x, m, [0, 0, 0], baseline_images(x, baseline), **settings)
        for key in expected:
            np.testing.assert_allclose(ours[key], expected[key], atol=2e-5, err_msg=key)


def test_a_true_map_beats_a_random_one_which_beats_its_inverse(bars):
    model, x, maps = bars
    scores = {
        name: {k: float(v.mean()) for k, v in faithfulness(model, x, m, class_index=0, baseline="zero").items()}
        for name, m in maps.items()
    }
    for lower_is_better, key in ((True, "deletion_auc"), (False, "insertion_auc"), (False, "mufidelity")):
        ranked = sorted(scores, key=lambda name: scores[name][key], reverse=not lower_is_better)
        assert ranked == ["true", "random", "inverted"], (key, scores)
    assert scores["true"]["mufidelity"] > 0.9 and abs(scores["random"]["mufidelity"]) < 0.5


def test_the_model_never_sees_more_than_one_batch(bars):
    model, x, maps = bars
    faithfulness(watched(model), x, maps["true"], class_index=0, steps=20, samples=50, batch_size=16)
    assert Watching.largest == 16  # 3 x 21 curve points and 3 x 50 subsets, 16 at a time


@pytest.mark.parametrize("name", sorted(ATTRIBUTIONS))
def test_every_attribution_method_goes_one_batch_at_a_time(bars, name):
    model, x, _ = bars
    ATTRIBUTIONS[name](watched(model), np.concatenate([x] * 4), class_index=0, batch_size=5)
    assert 0 < Watching.largest <= 5  # 12 images (occlusion, Score-CAM, IG: their copies), 5 at a time


def test_bad_settings_are_named(bars):
    model, x, maps = bars
    with pytest.raises(ValueError, match="Unknown baseline 'grey'"):
        faithfulness(model, x, maps["true"], baseline="grey")
    with pytest.raises(ValueError, match="maps must be"):
        faithfulness(model, x, maps["true"][:, :5])


def test_the_stage_flags_a_method_blind_to_the_model_and_logs_every_image(monkeypatch):
    """The faithfulness panel with a registered "method" that never reads the model (the image's
    edges): flagged by the randomization check in the report's warnings; every metric per image
    (an MLflow series, step = image) and as their mean."""
    monkeypatch.setitem(ATTRIBUTIONS, "edges", edges)
    keras.utils.set_random_seed(0)
    context = context_of(build_model("lenet5", (32, 32, 1), 10))
    context.settings = OmegaConf.merge(SETTINGS, {"faithfulness": {"methods": ["saliency", "edges"]}})
    panels = METHODS["faithfulness"].panels(context)
    assert [p.name for p in panels] == ["faithfulness", "randomization"]
    [flag] = [line for line in context.warnings if "edges" in line]
    assert "failed the randomization check" in flag and context.metrics["randomization_edges_spearman"] > 0.99
    for method in ("saliency", "edges", "random"):
        for metric in ("deletion_auc", "insertion_auc", "mufidelity"):
            per_image = context.series[f"faithfulness_{method}_{metric}_per_image"]
            assert sorted(per_image) == [0, 1]  # num_images: 2
            assert context.metrics[f"faithfulness_{method}_{metric}"] == pytest.approx(
                np.mean(list(per_image.values()))
            )
