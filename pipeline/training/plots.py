"""Figures of the train stage: training curves, the confusion matrix and ROC curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

import pipeline.drawing  # noqa: F401 - the non-interactive backend

TITLES = {"mean_iou": "mean IoU", "psnr": "PSNR (dB)", "ssim": "SSIM", "nll": "NLL", "ece": "ECE"}


def training_curves(history: Sequence[dict], metrics: Sequence[str] = ("loss", "accuracy")) -> plt.Figure:
    """`metrics` per epoch, train against validation (where each was measured)."""
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        for split, style, colour in (("train", "-o", "C0"), ("val", "--s", "C1")):
            values = [h.get(f"{split}_{metric}") for h in history]
            if any(v is not None for v in values):
                axis.plot(epochs, values, style, color=colour, markersize=3, label=split)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        axis.set_title(TITLES.get(metric, metric.replace("_", " ")))
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, class_names: Sequence[str]) -> plt.Figure:
    """Test images by (true class, predicted class)."""
    from sklearn.metrics import confusion_matrix as counts_of

    counts = counts_of(labels, predictions, labels=list(range(len(class_names))))
    return confusion_figure(counts, class_names, f"test accuracy {np.trace(counts) / max(counts.sum(), 1):.3f}")


def confusion_figure(counts: np.ndarray, class_names: Sequence[str], title: str, shares: bool = False) -> plt.Figure:
    """Counts of (true class, predicted class), rows normalised in colour, counts written in (or,
    with `shares`, each row's percentages: for pixels, whose counts run to millions)."""
    counts = np.asarray(counts).astype(np.int64)
    k = len(class_names)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = min(12, 2 + 0.45 * k)
    fig, axis = plt.subplots(figsize=(size, size))
    axis.imshow(share, cmap="Blues", vmin=0, vmax=1)
    if k <= 20:
        for (i, j), n in np.ndenumerate(counts):
            text = f"{100 * share[i, j]:.1f}%" if shares else str(n)
            axis.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if share[i, j] > 0.5 else "black")
        axis.set_xticks(range(k), class_names, rotation=90, fontsize=7)
        axis.set_yticks(range(k), class_names, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    fig.tight_layout()
    return fig


def roc_curves(same: np.ndarray, scores: Mapping[str, np.ndarray], title: str) -> plt.Figure:
    """The ROC curve of each named score (higher where `same` is 1), with its area, and chance."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, axis = plt.subplots(figsize=(4.8, 4.5))
    for label, score in scores.items():
        false_positive, true_positive, _ = roc_curve(same, score)
        axis.plot(false_positive, true_positive, label=f"{label}: AUC {roc_auc_score(same, score):.3f}")
    axis.plot([0, 1], [0, 1], "k--", label="chance (0.5)")
    axis.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    axis.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
