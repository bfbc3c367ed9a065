"""What the train stage shows of the test split for each target: the figures (`task_figures`)
and the per-class table written as `per_class.csv` next to them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

from pipeline.drawing import Panel
from pipeline.inference import predictions_and_labels
from pipeline.training import metrics, plots, task_figures
from pipeline.training.objectives import Totals

PER_CLASS_FILE = "per_class.csv"


class Evaluation(NamedTuple):
    """The test split's sums, its metrics (prefixed `test_`) and the target's class names."""

    totals: Totals
    results: dict[str, float]
    class_names: tuple[str, ...]


def panels(target: str, model: keras.Model, test, evaluation: Evaluation, folder: Path) -> list[Panel]:
    """The target's figures of the test split (`test`: batches of NumPy-convertible pairs); the
    per-class table goes to `folder`. Pairs have their ROC curves (`pairs.roc_panel`)."""
    draw = {"label": label_panels, "mask": mask_panels, "image": image_panels}.get(target)
    return draw(model, test, evaluation, folder) if draw else []


def label_panels(model: keras.Model, test, evaluation: Evaluation, folder: Path) -> list[Panel]:
    names = evaluation.class_names
    predictions, labels = predictions_and_labels(model, test)
    write_rows(folder, class_report(labels, predictions, names))
    return [
        Panel(
            "confusion_matrix",
            plots.confusion_matrix(labels, predictions, names),
            "Test images by true class (rows) and predicted class (columns).",
        ),
        Panel(
            "reliability",
            task_figures.reliability_figure(evaluation.totals.tallies[1:]),
            "Whether the confidences can be trusted: the accuracy of the test images in each "
            "confidence bin against the bin's mean confidence, and how many fall in each bin.",
        ),
    ]


def mask_panels(model: keras.Model, test, evaluation: Evaluation, folder: Path) -> list[Panel]:
    names = evaluation.class_names
    counts = evaluation.totals.tallies.reshape(len(names), len(names))
    write_rows(folder, iou_report(counts, names))
    picked = task_figures.first_and_worst(model, test, task_figures.image_iou)
    title = f"test pixels: mean IoU {evaluation.results['test_mean_iou']:.3f}"
    return [
        Panel(
            "segmentation",
            task_figures.segmentation_figure(picked, names),
            "Test images, their true masks and the predicted ones in class colours; the first "
            "examples, then the worst by their own mean IoU.",
        ),
        Panel(
            "pixel_confusion",
            plots.confusion_figure(counts, names, title, shares=True),
            "Every test pixel by true class (rows) and predicted class (columns), as a share of its row.",
        ),
    ]


def image_panels(model: keras.Model, test, evaluation: Evaluation, folder: Path) -> list[Panel]:
    picked = task_figures.first_and_worst(model, test, task_figures.image_psnr)
    return [
        Panel(
            "reconstructions",
            task_figures.reconstructions_figure(picked),
            "Test images over what the autoencoder rebuilds from its code, with each one's PSNR "
            "(higher is closer); the first examples, then the worst.",
        )
    ]


def class_report(labels: np.ndarray, predictions: np.ndarray, class_names: tuple[str, ...]) -> list[dict]:
    """Per class: precision, recall, F1 and support (test images of that class)."""
    from sklearn.metrics import precision_recall_fscore_support

    found = precision_recall_fscore_support(labels, predictions, labels=list(range(len(class_names))), zero_division=0)
    return [
        {"class": name, "precision": p, "recall": r, "f1": f, "support": int(n)}
        for name, p, r, f, n in zip(class_names, *found, strict=True)
    ]


def iou_report(counts: np.ndarray, class_names: tuple[str, ...]) -> list[dict]:
    """Per class: IoU ("absent" where the class is neither true nor predicted), true and
    predicted pixels."""
    ious = metrics.class_iou(counts)
    return [
        {
            "class": name,
            "iou": iou if np.isfinite(iou) else "absent",
            "true_pixels": int(counts[k].sum()),
            "predicted_pixels": int(counts[:, k].sum()),
        }
        for k, (name, iou) in enumerate(zip(class_names, ious, strict=True))
    ]


def write_rows(folder: Path, rows: list[dict]) -> Path:
    """The rows as `folder/per_class.csv` (numbers to 4 decimals)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PER_CLASS_FILE
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: f"{v:.4f}" if isinstance(v, float) else v for k, v in row.items()} for row in rows)
    return path
