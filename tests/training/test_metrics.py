"""Each target's metrics through the evaluation step, against independent references:
scikit-learn's `jaccard_score` for IoU, `skimage.metrics` for PSNR and SSIM, a hand-worked
expected calibration error (Guo et al. 2017), NumPy for the figures' choice of examples."""

import csv
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline.training import Steps, default_metric, evaluate, headline
from pipeline.training.evaluation import class_report, iou_report, write_rows
from pipeline.training.metrics import ECE_BINS, class_iou, expected_calibration_error, mean_iou
from pipeline.training.task_figures import first_and_worst, image_iou


def identity_steps(target: str, shape: tuple, class_names=None) -> Steps:
    """Evaluation steps of a model that outputs its input: each test batch's x is the outputs."""
    model = keras.Sequential([keras.Input(shape), keras.layers.Identity()])
    return Steps(tf.distribute.get_strategy(), model, keras.optimizers.SGD(), target, 8, class_names=class_names)


def one_hot_logits(masks: np.ndarray, classes: int) -> np.ndarray:
    return 10.0 * np.eye(classes, dtype=np.float32)[masks]


# Four hand-made 4x4 masks over 4 classes; class 3 is in neither the true nor the predicted masks.
TRUE = np.array(
    [
        [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 0, 0], [2, 2, 0, 0]],
        [[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
        [[0, 2, 2, 0], [0, 2, 2, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]],
    ]
)
PREDICTED = np.array(
    [
        [[0, 0, 1, 1], [0, 1, 1, 1], [2, 2, 0, 0], [2, 0, 0, 0]],
        [[1, 1, 1, 0], [1, 1, 2, 2], [0, 0, 0, 0], [0, 0, 0, 1]],
        [[0, 2, 2, 2], [0, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        [[0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]],
    ]
)


def test_mean_and_per_class_iou_equal_scikit_learns_jaccard_score():
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import jaccard_score

    names = ("background", "circle", "square", "triangle")
    steps = identity_steps("mask", (4, 4, 4), names)
    found = evaluate(steps, tf.data.Dataset.from_tensor_slices((one_hot_logits(PREDICTED, 4), TRUE)).batch(3))
    y, p = TRUE.ravel(), PREDICTED.ravel()
    with pytest.warns(UndefinedMetricWarning):  # the absent class has no IoU: scikit-learn warns ...
        expected = jaccard_score(y, p, labels=[0, 1, 2, 3], average=None)
    assert "iou/triangle" not in found  # ... and it is not reported as a number
    for name, value in zip(names[:3], expected[:3]):
        assert found[f"iou/{name}"] == pytest.approx(value)
    assert found["mean_iou"] == pytest.approx(jaccard_score(y, p, labels=[0, 1, 2], average="macro"))
    assert found["pixel_accuracy"] == pytest.approx(np.mean(y == p))
    assert "accuracy" not in found
    counts = np.bincount(y * 4 + p, minlength=16).reshape(4, 4)
    assert math.isnan(class_iou(counts)[3]) and mean_iou(counts) == pytest.approx(found["mean_iou"])
    rows = iou_report(counts, names)
    assert rows[3]["iou"] == "absent" and rows[1]["true_pixels"] == int((y == 1).sum())
    assert rows[2]["predicted_pixels"] == int((p == 2).sum())


def test_psnr_and_ssim_equal_skimage_and_the_mse_is_the_loss():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    rng = np.random.default_rng(0)
    clean = rng.random((6, 32, 32, 3)).astype(np.float32)
    rebuilt = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
    found = evaluate(
        identity_steps("image", clean.shape[1:]), tf.data.Dataset.from_tensor_slices((rebuilt, clean)).batch(4)
    )
    psnr = [peak_signal_noise_ratio(c, r, data_range=1.0) for c, r in zip(clean, rebuilt)]
    ssim = [
        structural_similarity(
            c, r, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
        for c, r in zip(clean, rebuilt)
    ]
    assert found["psnr"] == pytest.approx(np.mean(psnr), rel=1e-5)
    assert found["ssim"] == pytest.approx(np.mean(ssim), rel=1e-4)
    assert found["mse"] == pytest.approx(np.mean((clean - rebuilt) ** 2), rel=1e-5) == found["loss"]
    assert not any("accuracy" in name for name in found)


def test_expected_calibration_error_of_a_hand_worked_example():
    """Four predictions in three of the 15 bins: two at 0.95 (one right), 0.55 (right), 0.35
    (right): ECE = 2/4 |0.5 - 0.95| + 1/4 |1 - 0.55| + 1/4 |1 - 0.35| = 0.225 + 0.1125 + 0.1625."""
    probabilities = np.array(
        [[0.95, 0.03, 0.02], [0.95, 0.03, 0.02], [0.2, 0.55, 0.25], [0.33, 0.32, 0.35]], np.float32
    )
    labels = np.array([0, 1, 1, 2])
    steps = identity_steps("label", (3,))
    found = evaluate(steps, tf.data.Dataset.from_tensor_slices((np.log(probabilities), labels)).batch(3))
    assert found["ece"] == pytest.approx(0.5, abs=1e-6)
    assert found["accuracy"] == pytest.approx(0.75)
    assert found["nll"] == pytest.approx(-np.mean(np.log(probabilities[range(4), labels])), rel=1e-5) == found["loss"]
    # the bins' edges: a confidence of exactly 1/15 is in the first bin, (0, 1/15]
    edge = np.zeros(3 * ECE_BINS)
    edge[[0, ECE_BINS, 2 * ECE_BINS]] = 1, 1 / 15, 0
    assert expected_calibration_error(edge) == pytest.approx(1 / 15)


def test_the_figures_show_the_first_examples_then_the_worst_by_iou():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 3, (11, 4, 4))
    predicted = np.where(rng.random(true.shape) < 0.7, true, rng.integers(0, 3, true.shape))
    logits = one_hot_logits(predicted, 3)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Identity()])
    batches = [(logits[i : i + 4], true[i : i + 4]) for i in range(0, 11, 4)]
    picked = first_and_worst(model, batches, image_iou, shown=3)
    scores = [
        mean_iou(np.bincount(t.ravel() * 3 + p.ravel(), minlength=9).reshape(3, 3)) for t, p in zip(true, predicted)
    ]
    worst = 3 + np.argsort(scores[3:], kind="stable")[:3]
    assert list(picked.index) == [0, 1, 2, *worst]
    np.testing.assert_allclose(picked.score, np.array(scores)[picked.index])
    np.testing.assert_array_equal(picked.y, true[picked.index])


def test_the_per_class_table_holds_precision_recall_and_f1(tmp_path):
    labels = np.array([0, 0, 0, 1, 1, 2])
    predictions = np.array([0, 0, 1, 1, 2, 2])
    rows = class_report(labels, predictions, ("a", "b", "c"))
    # class a: 2 of 2 predicted a are right, 2 of 3 true a found; class b: 1 of 2, 1 of 2
    assert rows[0] == {
        "class": "a",
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(0.8),
        "support": 3,
    }
    assert rows[1]["precision"] == rows[1]["recall"] == rows[1]["f1"] == pytest.approx(0.5)
    with write_rows(tmp_path, rows).open() as table:
        read = list(csv.DictReader(table))
    assert read[0] == {"class": "a", "precision": "1.0000", "recall": "0.6667", "f1": "0.8000", "support": "3"}


def test_each_target_has_its_headline_and_default_sweep_metric():
    assert headline("image") == ["test_psnr", "test_ssim", "test_mse"]
    assert headline("mask")[0] == default_metric("mask") == "test_mean_iou"
    assert default_metric("label") == "test_accuracy" and default_metric("pair") == "test_roc_auc"
    assert not any("accuracy" in name for name in headline("image"))


@pytest.mark.parametrize("target", ["label", "mask", "image"])
def test_each_target_draws_its_figures_of_the_test_split(target, tmp_path):
    """What the train stage publishes per target, on a model that outputs its input."""
    from pipeline.training import loop
    from pipeline.training.evaluation import PER_CLASS_FILE, Evaluation, panels

    rng = np.random.default_rng(0)
    if target == "mask":
        names, x, y = ("background", "circle", "square"), one_hot_logits(PREDICTED, 3), TRUE
    elif target == "image":
        names, y = ("0",), rng.random((10, 16, 16, 1)).astype(np.float32)
        x = np.clip(y + rng.normal(0, 0.1, y.shape), 0, 1).astype(np.float32)
    else:
        names, x, y = ("a", "b", "c"), rng.normal(size=(20, 3)).astype(np.float32), rng.integers(0, 3, 20)
    steps = identity_steps(target, x.shape[1:], names)
    test = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    totals = loop.totals(steps, test)
    results = {f"test_{k}": v for k, v in loop.summarize(steps, totals).items()}
    drawn = panels(target, steps.predictor, test, Evaluation(totals, results, names), tmp_path)
    expected = {
        "label": ["confusion_matrix", "reliability"],
        "mask": ["segmentation", "pixel_confusion"],
        "image": ["reconstructions"],
    }
    assert [p.name for p in drawn] == expected[target]
    for panel in drawn:
        panel.save(tmp_path)
        assert (tmp_path / f"{panel.name}.png").stat().st_size > 0
    assert (tmp_path / PER_CLASS_FILE).exists() == (target != "image")
