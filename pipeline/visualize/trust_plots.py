"""Figures of how far to trust the explanations: faithfulness scores against a random map, the
randomization check's curves, and the top activating patches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from pipeline.drawing import grid, show

# metric -> (axis title, whether lower is better)
FAITHFULNESS_METRICS = {
    "deletion_auc": ("Deletion AUC (lower: better)", True),
    "insertion_auc": ("Insertion AUC (higher: better)", False),
    "mufidelity": ("MuFidelity (higher: better)", False),
}


def faithfulness_figure(scores: Mapping[str, Mapping[str, np.ndarray]], floor: Mapping[str, float]) -> plt.Figure:
    """One panel per metric: a bar per method (the mean of its per-image `scores`), a dot per
    image, the random map's mean as a dashed line; a bar on the wrong side of the line is a
    method no better than chance."""
    methods = list(scores)
    n = len(next(iter(scores[methods[0]].values())))
    fig, axes = plt.subplots(
        1, len(FAITHFULNESS_METRICS), figsize=(4.2 * len(FAITHFULNESS_METRICS), 0.45 * len(methods) + 1.6)
    )
    for axis, (metric, (title, lower)) in zip(axes, FAITHFULNESS_METRICS.items(), strict=True):
        values = [float(np.mean(scores[m][metric])) for m in methods]
        good = [(v < floor[metric]) if lower else (v > floor[metric]) for v in values]
        axis.barh(methods, values, color=["tab:green" if g else "tab:red" for g in good])
        for y, m in enumerate(methods):
            jitter = np.linspace(-0.25, 0.25, n) if n > 1 else np.zeros(1)
            axis.scatter(scores[m][metric], y + jitter, s=6, color="k", alpha=0.5, zorder=3)
        axis.axvline(floor[metric], color="k", linestyle="--", label="random map")
        axis.set_title(title, fontsize=9)
        axis.invert_yaxis()
        for y, v in enumerate(values):
            axis.text(v, y, f" {v:.3f}", va="center", fontsize=7)
        if metric != next(iter(FAITHFULNESS_METRICS)):
            axis.set_yticklabels([])
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Faithfulness of each attribution method, mean over {n} test images (red: no better than random)")
    fig.tight_layout()
    return fig


def randomization_figure(curves: Mapping[str, Sequence[tuple[str, float, float]]], threshold: float) -> plt.Figure:
    """Spearman rank correlation between each method's maps on the trained model and on copies
    whose layers are re-drawn from the top down; flat near 1 means the map ignores the model."""
    fig, axis = plt.subplots(figsize=(9.5, 3.6))
    for method, steps in curves.items():
        axis.plot(range(len(steps)), [s[1] for s in steps], marker="o", label=method)
    layers = [s[0] for s in next(iter(curves.values()))]
    axis.set_xticks(range(len(layers)), [f"+{name}" for name in layers], rotation=30, fontsize=7, ha="right")
    axis.axhline(threshold, color="k", linestyle="--", label=f"flag above {threshold:g}")
    lowest = min(s[1] for steps in curves.values() for s in steps)
    axis.set_ylim(min(-0.2, lowest - 0.05), 1.05)
    axis.set_ylabel("Spearman, trained vs randomised")
    axis.set_xlabel("layers re-drawn, cumulatively from the output")
    axis.set_title("Randomization check (Adebayo et al. 2018): the maps should change as the model does")
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def patches_figure(patches: np.ndarray, filters: Sequence[int], layer: str) -> plt.Figure:
    """One row per filter: its top patches, strongest first."""
    fig, axes = grid(len(filters), patches.shape[1], f"{layer}: the test patches that excite each filter most", 0.9)
    axes = np.asarray(axes).reshape(len(filters), patches.shape[1])
    for row, f in enumerate(filters):
        for col in range(patches.shape[1]):
            show(axes[row, col], patches[row, col], f"filter {f}" if col == 0 else "")
    fig.tight_layout()
    return fig
