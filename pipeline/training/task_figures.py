"""The train stage's pictures of the test split, one kind per task: masks in class colours
(segmentation), originals over reconstructions (autoencoders), and a reliability diagram
(classifiers). Each shows the first test examples next to the worst by the task's own measure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from pipeline.drawing import to_uint8
from pipeline.inference import logits
from pipeline.training import metrics

SHOWN = 4  # first examples, and as many worst ones


class Picked(NamedTuple):
    """Test examples chosen for a figure: their positions in the split, images, targets, outputs
    and scores."""

    index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    outputs: np.ndarray
    score: np.ndarray


def _take(parts: Sequence[Picked], keep: np.ndarray) -> Picked:
    joined = [np.concatenate(field) for field in zip(*parts, strict=True)]
    return Picked(*(field[keep] for field in joined))


def first_and_worst(
    model: keras.Model, batches: Iterable, score: Callable[[np.ndarray, np.ndarray], np.ndarray], shown: int = SHOWN
) -> Picked:
    """The first `shown` examples of the split, then the `shown` others that score lowest
    (`score(y, outputs) -> (N,)`), lowest first; read one batch at a time, only these kept."""
    kept, seen = [], 0
    for x, y in batches:
        x, y = np.asarray(x), np.asarray(y)
        outputs = logits(model, x)
        pool = [*kept, Picked(np.arange(seen, seen + len(x)), x, y, outputs, np.asarray(score(y, outputs)))]
        seen += len(x)
        index, scores = np.concatenate([p.index for p in pool]), np.concatenate([p.score for p in pool])
        others = np.flatnonzero(index >= shown)
        worst = others[np.argsort(scores[others], kind="stable")[:shown]]
        kept = [_take(pool, np.r_[np.flatnonzero(index < shown), worst])]
    if not kept:
        raise ValueError("the test split is empty")
    return kept[0]


def image_iou(y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Each example's mean IoU over the classes in its true or predicted mask, (N,)."""
    classes = outputs.shape[-1]
    predicted = outputs.argmax(axis=-1)
    return np.array(
        [
            metrics.mean_iou(np.bincount(t.ravel() * classes + p.ravel(), minlength=classes**2).reshape(classes, -1))
            for t, p in zip(y, predicted, strict=True)
        ]
    )


def image_psnr(y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Each reconstruction's PSNR in dB, (N,)."""
    return np.asarray(metrics.psnr(y, outputs))


def class_colours(classes: int) -> ListedColormap:
    """Background (class 0) black, the other classes in tab10's colours."""
    palette = plt.get_cmap("tab10" if classes <= 11 else "tab20").colors
    return ListedColormap([(0.0, 0.0, 0.0), *palette[: classes - 1]])


def _grid(rows: Sequence[str], cols: int) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.7 * cols, 1.8 * len(rows)), squeeze=False)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    for axis, name in zip(axes[:, 0], rows, strict=True):
        axis.set_ylabel(name)
    return fig, axes


def _show(axis, image: np.ndarray) -> None:
    image = to_uint8(image)
    axis.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)


def _heading(picked: Picked, i: int, shown: int, text: str) -> str:
    """Test example number, and whether it is one of the worst."""
    return f"{'worst: ' if picked.index[i] >= shown else ''}#{picked.index[i]}\n{text}"


def segmentation_figure(picked: Picked, class_names: Sequence[str], shown: int = SHOWN) -> plt.Figure:
    """Image | true mask | predicted mask, one column per example, masks in class colours."""
    colours = class_colours(len(class_names))
    fig, axes = _grid(["image", "true mask", "predicted"], len(picked.index))
    for i in range(len(picked.index)):
        _show(axes[0, i], picked.x[i])
        for row, mask in ((1, picked.y[i]), (2, picked.outputs[i].argmax(axis=-1))):
            axes[row, i].imshow(mask, cmap=colours, vmin=-0.5, vmax=len(class_names) - 0.5, interpolation="nearest")
        axes[0, i].set_title(_heading(picked, i, shown, f"IoU {picked.score[i]:.2f}"), fontsize=8)
    handles = [Patch(color=colours(k), label=name) for k, name in enumerate(class_names)]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.suptitle("Test masks: the first examples, then the worst by IoU")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def reconstructions_figure(picked: Picked, shown: int = SHOWN) -> plt.Figure:
    """Originals over reconstructions, each with its PSNR."""
    fig, axes = _grid(["original", "reconstruction"], len(picked.index))
    for i in range(len(picked.index)):
        _show(axes[0, i], picked.y[i])
        _show(axes[1, i], np.clip(picked.outputs[i], 0.0, 1.0))
        axes[0, i].set_title(_heading(picked, i, shown, f"PSNR {picked.score[i]:.1f} dB"), fontsize=8)
    fig.suptitle("Test images and their reconstructions: the first, then the worst by PSNR")
    fig.tight_layout()
    return fig


def reliability_figure(bins: np.ndarray) -> plt.Figure:
    """Accuracy against confidence per bin (a calibrated model sits on the diagonal), the gap
    shaded, and how many test examples fall in each bin."""
    count, confidence, accuracy = metrics.reliability(bins)
    edges = np.linspace(0.0, 1.0, metrics.ECE_BINS + 1)
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.8, 5.4), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    filled = count > 0
    top.bar(centres[filled], accuracy[filled], width, edgecolor="black", color="tab:blue", label="accuracy")
    top.bar(  # hatched between each bin's accuracy and its mean confidence, over or under the bar
        centres[filled],
        confidence[filled] - accuracy[filled],
        width,
        bottom=accuracy[filled],
        fill=False,
        edgecolor="tab:red",
        hatch="//",
        label="gap to confidence",
    )
    top.plot([0, 1], [0, 1], "k--", label="calibrated")
    ece = metrics.expected_calibration_error(bins)
    top.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title=f"Reliability: ECE {ece:.3f} ({metrics.ECE_BINS} bins)")
    top.legend(loc="upper left", fontsize=7, framealpha=0.9)
    bottom.bar(centres, count, width, edgecolor="black", color="grey")
    for x, n in zip(centres[filled], count[filled], strict=True):
        bottom.annotate(f"{int(n)}", (x, n), ha="center", va="bottom", fontsize=6)
    bottom.set(xlabel="confidence (top softmax probability)", ylabel="examples", ylim=(0, 1.25 * max(count.max(), 1)))
    fig.tight_layout()
    return fig
