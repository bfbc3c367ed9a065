"""Figures of the adversarial stage: robustness curves, minimal-perturbation histograms, galleries."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from pipeline.drawing import grid, show


def robustness_figure(curves: dict[str, dict[float, float]], title: str) -> plt.Figure:
    """Accuracy against the L-inf budget, one line per attack."""
    fig, axis = plt.subplots(figsize=(5.5, 3.8))
    for name, curve in curves.items():
        axis.plot(list(curve), list(curve.values()), "-o", markersize=4, label=name)
    axis.set_xlabel("L-inf budget eps (data in [0, 1])")
    axis.set_ylabel("accuracy on attacked test images")
    axis.set_ylim(-0.02, 1.02)
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3)
    axis.legend()
    fig.tight_layout()
    return fig


def sizes_figure(linf: np.ndarray, l2: np.ndarray) -> plt.Figure:
    """Histograms of the smallest flipping L-inf budgets and of DeepFool's L2 sizes, medians marked."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for axis, values, label in (
        (axes[0], linf, "smallest flipping L-inf budget (PGD bisection)"),
        (axes[1], l2, "L2 size of DeepFool's perturbation"),
    ):
        values = values[np.isfinite(values)]
        if len(values):
            axis.hist(values, bins=min(20, max(5, len(values) // 3)), color="tab:blue", alpha=0.8)
            axis.axvline(np.median(values), color="tab:red", linestyle="--", label=f"median {np.median(values):.3g}")
            axis.legend(fontsize=8)
        axis.set_xlabel(label, fontsize=8)
        axis.set_ylabel("examples")
    fig.suptitle("How far the closest failing image is", fontsize=10)
    fig.tight_layout()
    return fig


def gallery_figure(
    x: np.ndarray, x_adv: np.ndarray, clean: Sequence[str], attacked: Sequence[str], title: str
) -> plt.Figure:
    """Per example: the image with its prediction, the perturbation (amplified to the colour
    range, its L-inf size written), the adversarial image with its prediction."""
    fig, axes = grid(len(x), 3, title)
    fig.set_size_inches(6.2, 2.0 * len(x) + 0.6)
    for i, (image, adversarial) in enumerate(zip(x, x_adv)):
        delta = (adversarial - image).mean(axis=-1)
        bound = max(float(np.abs(delta).max()), 1e-12)
        show(axes[i, 0], image, clean[i])
        axes[i, 1].imshow(delta, cmap="RdBu_r", vmin=-bound, vmax=bound)
        axes[i, 1].set_title(
            f"perturbation x{0.5 / bound:.0f} (L-inf {np.abs(adversarial - image).max():.3f})", fontsize=7
        )
        show(axes[i, 2], adversarial, attacked[i])
    fig.tight_layout()
    return fig


def saliency_pairs_figure(
    x: np.ndarray,
    x_adv: np.ndarray,
    clean_maps: np.ndarray,
    adv_maps: np.ndarray,
    clean: Sequence[str],
    attacked: Sequence[str],
) -> plt.Figure:
    """Per example: clean image, its saliency, adversarial image, its saliency (shared scale)."""
    fig, axes = grid(len(x), 4, "Saliency before and after the attack (|d logit / d x| of the predicted class)", 1.0)
    vmax = float(max(clean_maps.max(), adv_maps.max())) or 1.0
    for i in range(len(x)):
        show(axes[i, 0], x[i], clean[i])
        shown = axes[i, 1].imshow(clean_maps[i], cmap="inferno", vmin=0, vmax=vmax)
        show(axes[i, 2], x_adv[i], attacked[i])
        axes[i, 3].imshow(adv_maps[i], cmap="inferno", vmin=0, vmax=vmax)
        axes[i, 1].set_title("saliency", fontsize=7)
        axes[i, 3].set_title("saliency", fontsize=7)
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.6, label="|gradient|")
    return fig


def autoattack_figure(counts: dict[str, int], checks: Sequence[tuple[str, bool, str]], title: str) -> plt.Figure:
    """Where each example ended (wrong before any attack, broken first by each attack, robust),
    and the sanity checks passed (green) or failed (red) beside it."""
    fig, (bars, notes) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.3, 1]})
    names = list(counts)
    colours = ["#999999"] + ["#d62728"] * (len(names) - 2) + ["#2ca02c"]
    bars.barh(names[::-1], [counts[n] for n in names][::-1], color=colours[::-1])
    for row, name in enumerate(names[::-1]):
        bars.text(counts[name], row, f" {counts[name]}", va="center", fontsize=8)
    bars.set_xlabel("test examples")
    bars.set_title(title, fontsize=9)
    notes.axis("off")
    for row, (name, passed, value) in enumerate(checks):
        notes.text(
            0,
            1 - 0.15 * row,
            f"{'pass' if passed else 'FAIL'}  {name}: {value}",
            color="#2ca02c" if passed else "#d62728",
            fontsize=9,
            transform=notes.transAxes,
            va="top",
        )
    notes.set_title("sanity checks", fontsize=9)
    fig.tight_layout()
    return fig
