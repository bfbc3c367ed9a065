"""Figures from the arrays the methods return. Every figure has a title, class names where
there are classes, and a colour bar where the values matter."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from pipeline.drawing import grid, show


def images_figure(images: Sequence[np.ndarray], titles: Sequence[str], title: str, cols: int = 8) -> plt.Figure:
    """Images in a grid with one caption each, e.g. maximisation results or dreams."""
    rows = int(np.ceil(len(images) / cols))
    fig, axes = grid(rows, min(cols, len(images)), title)
    for axis, image, caption in zip(axes.flat, images, titles):
        show(axis, image, caption)
    fig.tight_layout()
    return fig


def kernels_figure(kernel: np.ndarray, layer: str, max_filters: int = 16, max_inputs: int = 6) -> plt.Figure:
    """A conv kernel (kh, kw, in, out): RGB images for a colour first layer, otherwise one row per
    input channel in a diverging map (red positive, blue negative) on a shared scale."""
    kernel = kernel[..., :max_filters]
    if kernel.shape[2] == 3:
        low, high = kernel.min(axis=(0, 1, 2)), kernel.max(axis=(0, 1, 2))
        images = [(kernel[..., f] - low[f]) / max(high[f] - low[f], 1e-12) for f in range(kernel.shape[-1])]
        return images_figure(images, [f"filter {f}" for f in range(len(images))], f"{layer}: learned kernels (RGB)")
    rows = min(kernel.shape[2], max_inputs)
    bound = float(np.abs(kernel[:, :, :rows]).max()) or 1.0
    fig, axes = grid(rows, kernel.shape[-1], f"{layer}: learned kernels, rows = input channels (first {rows})", 1.0)
    for i in range(rows):
        for f in range(kernel.shape[-1]):
            shown = axes[i, f].imshow(kernel[:, :, i, f], cmap="RdBu_r", vmin=-bound, vmax=bound)
            axes[i, f].set_title(f"in {i} / f {f}", fontsize=6)
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    return fig


def feature_maps_figure(
    image: np.ndarray, maps: dict[str, np.ndarray], caption: str, max_channels: int = 12
) -> plt.Figure:
    """One input and, per layer, its first channels (viridis; brighter = stronger)."""
    fig, axes = grid(len(maps), max_channels + 1, f"Feature maps of {caption}")
    for row, (layer, activation) in enumerate(maps.items()):
        show(axes[row, 0], image, "input" if row == 0 else "")
        for c in range(min(max_channels, activation.shape[-1])):
            show(axes[row, c + 1], activation[..., c], f"{layer}[{c}]", cmap="viridis")
    fig.tight_layout()
    return fig


def heatmaps_figure(
    images: np.ndarray,
    maps: np.ndarray,
    captions: Sequence[str],
    title: str,
    label: str,
    cmap: str = "inferno",
    overlay: bool = True,
) -> plt.Figure:
    """Images on the first row, their maps (over the image when `overlay`) on the second."""
    fig, axes = grid(2, len(images), title, 1.0)
    vmin, vmax = (0.0, 1.0) if maps.min() >= 0 and maps.max() <= 1 else (float(maps.min()), float(maps.max()))
    for i, (image, heat, caption) in enumerate(zip(images, maps, captions)):
        show(axes[0, i], image, caption)
        if overlay:
            show(axes[1, i], image)
        shown = axes[1, i].imshow(heat, cmap=cmap, alpha=0.6 if overlay else 1.0, vmin=vmin, vmax=vmax)
    fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.9, label=label)
    return fig


def embedding_figure(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str], title: str) -> plt.Figure:
    fig, axis = plt.subplots(figsize=(6.5, 5.5))
    colours = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    for k, name in enumerate(class_names):
        chosen = labels == k
        if chosen.any():
            axis.scatter(*coords[chosen].T, s=8, color=colours(k % colours.N), label=name)
    axis.set_title(title, fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])
    if len(class_names) <= 20:
        axis.legend(fontsize=7, markerscale=2, loc="best", frameon=False)
    fig.tight_layout()
    return fig


def receptive_fields_figure(fields: Sequence) -> plt.Figure:
    """Per layer: the measured gradient map with the theoretical (dashed) and the non-zero
    (solid) extents drawn around the central unit."""
    fig, axes = grid(
        1, len(fields), "Receptive fields: |d central unit / d input|; dashed: theory, solid: measured", 1.0
    )
    fig.set_size_inches(2.4 * len(fields) + 1.0, 3.0)
    for axis, field in zip(axes[0], fields):
        shown = axis.imshow(field.gradient / max(field.gradient.max(), 1e-12), cmap="magma", vmin=0, vmax=1)
        centre = np.array(np.unravel_index(np.argmax(field.gradient), field.gradient.shape))
        for (rows, cols), style in ((field.theoretical, "--"), (field.measured, "-")):
            axis.add_patch(
                plt.Rectangle(
                    (centre[1] - cols / 2, centre[0] - rows / 2),
                    cols,
                    rows,
                    fill=False,
                    edgecolor="cyan",
                    linestyle=style,
                    linewidth=1,
                )
            )
        axis.set_title(
            f"{field.layer}\nmeasured {field.measured[0]}x{field.measured[1]}, theory "
            f"{field.theoretical[0]}x{field.theoretical[1]}\n90% within {field.effective}x{field.effective}",
            fontsize=7,
        )
    fig.colorbar(shown, ax=axes[0].tolist(), shrink=0.8, label="relative gradient")
    return fig


def equivariance_figure(results: Sequence) -> plt.Figure:
    """Per layer: the equivariance error (shift by one output cell) and the change under a
    one-pixel shift (lower after pooling = more invariant)."""
    fig, axis = plt.subplots(figsize=(max(5.0, 0.7 * len(results) + 2), 3.6))
    where = np.arange(len(results))
    axis.bar(where - 0.2, [r.equivariance_error for r in results], 0.4, label="equivariance error (shift by stride)")
    axis.bar(where + 0.2, [r.invariance_change for r in results], 0.4, label="change under a 1-pixel shift")
    axis.set_xticks(where, [f"{r.layer}\n(stride {r.stride[0]})" for r in results], fontsize=7, rotation=30)
    axis.set_ylabel("relative L2 difference")
    axis.set_title("Translation equivariance and local invariance", fontsize=10)
    axis.legend(fontsize=7)
    axis.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def tuning_figure(angles: np.ndarray, responses: np.ndarray, osi: np.ndarray, layer: str, max_units: int = 16):
    """A polar tuning curve per unit (orientation is 180-periodic: drawn over the full circle),
    each scaled to its own peak, titled with its preferred angle and selectivity index."""
    units = min(responses.shape[1], max_units)
    cols = min(units, 8)
    rows = int(np.ceil(units / cols))
    fig = plt.figure(figsize=(1.9 * cols, 2.1 * rows + 0.5))
    theta = np.deg2rad(np.concatenate([angles, angles + 180.0, angles[:1] + 360.0]))
    for unit in range(units):
        r = np.maximum(responses[:, unit], 0.0)
        r = r / r.max() if r.max() > 0 else r
        ax = fig.add_subplot(rows, cols, unit + 1, projection="polar")
        ax.plot(theta, np.concatenate([r, r, r[:1]]), color="tab:red")
        ax.fill(theta, np.concatenate([r, r, r[:1]]), color="tab:red", alpha=0.25)
        ax.set_xticks(np.deg2rad([0, 45, 90, 135]), ["0", "45", "90", "135"], fontsize=6)
        ax.set_yticks([])
        ax.set_title(f"unit {unit}: {angles[responses[:, unit].argmax()]:.0f} deg, OSI {osi[unit]:.2f}", fontsize=7)
    fig.suptitle(f"{layer}: response to a bar turned through 180 degrees (Hubel and Wiesel)")
    fig.tight_layout()
    return fig
