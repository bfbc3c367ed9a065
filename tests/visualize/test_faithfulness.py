"""Faithfulness metrics: Deletion and Insertion AUC and MuFidelity against a plain NumPy loop of
their definitions, the order they put a true map, a random map and an inverted map in, and the
one-batch-at-a-time bound on what the model sees."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from pipeline.example_keys import content_keys
from pipeline.models import build_model
from pipeline.visualize import ATTRIBUTIONS, METHODS
from pipeline.visualize.faithfulness import baseline_images, curve_axis, faithfulness, random_maps
from tests.visualize.helpers import SETTINGS, Watching, bar_detector, bar_image, context_of, edges, watched


def reference(model, x, maps, classes, deletion_fill, insertion_fill, steps, grid, subset, samples, seed):
    """The definitions, one image and one step at a time: curves of the probability integrated over
    the share of pixels removed, MuFidelity on the logit with Pearson over subsets of exactly
    round(subset * grid^2) cells (the image's side a multiple of `grid`)."""

    def logits(images):
        return model(np.asarray(images, np.float32), training=False).numpy()

    def prob(images):
        return tf.nn.softmax(logits(images)).numpy()

    out = {"deletion_auc": [], "insertion_auc": [], "mufidelity": []}
    keys = content_keys(seed, x)
    for image, m, c, d, i, key in zip(x, maps, classes, deletion_fill, insertion_fill, keys, strict=True):
        order = np.argsort(-m.ravel(), kind="stable")
        chunk = int(np.ceil(m.size / steps))
        removed_share = [min(k * chunk, m.size) / m.size for k in range(steps + 1)]
        for name, start, end in (("deletion_auc", image, d), ("insertion_auc", i, image)):
            curve = []
            for k in range(steps + 1):
                moved = np.zeros(m.size, bool)
                moved[order[: k * chunk]] = True
                curve.append(prob([np.where(moved.reshape(m.shape)[..., None], end, start)])[0, c])
            out[name].append(np.trapezoid(curve, removed_share))
        draws = np.random.default_rng(int(key)).random((samples, grid * grid))
        size = round(subset * grid * grid)
        mass, drops = [], []
        for draw in draws:
            cells = np.zeros(grid * grid, bool)
            cells[np.argsort(draw, kind="stable")[:size]] = True
            mask = np.kron(cells.reshape(grid, grid), np.ones((m.shape[0] // grid, m.shape[1] // grid))).astype(bool)
            mass.append(m[mask].sum())
            drops.append(logits([image])[0, c] - logits([np.where(mask[..., None], d, image)])[0, c])
        out["mufidelity"].append(np.corrcoef(mass, drops)[0, 1])
    return {k: np.array(v) for k, v in out.items()}


def linear_model(w: np.ndarray) -> keras.Model:
    """f(x) = w . x as the logit of class 0 (class 1: its negative), no bias."""
    inputs = keras.Input(w.shape)
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([np.stack([w.ravel(), -w.ravel()], axis=1)])
    return model


@pytest.fixture(scope="module")
def bars():
    """The bar detector (class 0: bright pixels) on 3 bar images shifted down, with maps: the bar
    itself, a random map, and the bar's complement."""
    model = bar_detector("keras", size=18)
    image, mask = bar_image(size=18)
    x = np.stack([np.roll(image, shift, axis=0) for shift in (0, 3, 6)])
    truth = np.stack([np.roll(mask, shift, axis=0) for shift in (0, 3, 6)]).astype(np.float32)
    return model, x, {"true": truth, "random": random_maps(truth.shape, seed=1), "inverted": 1.0 - truth}


@pytest.mark.parametrize("baselines", [("zero", "blur"), ("mean", "zero")])
def test_the_metrics_follow_their_definitions(bars, baselines):
    model, x, maps = bars
    settings = {"steps": 9, "grid": 9, "subset": 0.2, "samples": 40, "seed": 3}
    deletion, insertion = baselines
    for m in maps.values():
        ours = faithfulness(
            model,
            x,
            m,
            class_index=0,
            deletion_baseline=deletion,
            insertion_baseline=insertion,
            batch_size=7,
            **settings,
        )
        fills = baseline_images(x, deletion), baseline_images(x, insertion)
        expected = reference(model, x, m, [0, 0, 0], *fills, **settings)
        for key in expected:
            np.testing.assert_allclose(ours[key], expected[key], atol=2e-5, err_msg=key)


def test_on_a_linear_model_the_metrics_have_their_closed_forms():
    """f(x) = w . x, the gradient x input map w * x, baseline 0: removing a set of pixels drops the
    logit by exactly the map's sum over them, so MuFidelity on logits is 1, and the deletion and
    insertion curves are the sorted partial sums of w * x."""
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(16, 16, 1)), rng.random((3, 16, 16, 1)).astype(np.float32)
    model, maps = linear_model(w), (w * x)[..., 0]
    found = faithfulness(
        model, x, maps, class_index=0, deletion_baseline="zero", insertion_baseline="zero", steps=8,
        curve_score="logit", grid=8, samples=50,
    )  # fmt: skip
    np.testing.assert_allclose(found["mufidelity"], 1.0, atol=1e-5)
    axis = np.arange(9) * 32 / 256
    for image, expected_deletion, expected_insertion in zip(maps, found["deletion_auc"], found["insertion_auc"]):
        partial = np.concatenate([[0.0], np.cumsum(np.sort(image.ravel())[::-1])])[::32]
        np.testing.assert_allclose(expected_deletion, np.trapezoid(partial[-1] - partial, axis), rtol=1e-4)
        np.testing.assert_allclose(expected_insertion, np.trapezoid(partial, axis), rtol=1e-4)


def test_a_constant_map_scores_zero_and_the_curve_axis_is_the_share_removed(bars):
    model, x, _ = bars
    constant = faithfulness(model, x, np.ones(x.shape[:3], np.float32), class_index=0, samples=30)
    assert (constant["mufidelity"] == 0).all()
    assert curve_axis(49, 5).tolist() == [0, 10 / 49, 20 / 49, 30 / 49, 40 / 49, 1.0]  # a 7x7 image, 5 steps
    assert curve_axis(1024, 50)[-3:].tolist() == [1008 / 1024, 1.0, 1.0]  # chunks of 21 pixels: all gone at step 49


def test_an_image_scores_the_same_in_any_batch(bars):
    model, x, maps = bars
    alone = faithfulness(model, x, maps["random"], class_index=0, samples=30, steps=6)
    for order in ([2, 0, 1], [1], [0, 2]):
        again = faithfulness(model, x[order], maps["random"][order], class_index=0, samples=30, steps=6)
        for key in alone:
            np.testing.assert_allclose(again[key], alone[key][order], atol=1e-6, err_msg=key)


def test_a_true_map_beats_a_random_one_which_beats_its_inverse(bars):
    model, x, maps = bars
    scores = {
        name: {k: float(v.mean()) for k, v in faithfulness(model, x, m, class_index=0).items()}
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
        faithfulness(model, x, maps["true"], deletion_baseline="grey")
    with pytest.raises(ValueError, match="Unknown correlation 'kendall'"):
        faithfulness(model, x, maps["true"], correlation="kendall")
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
