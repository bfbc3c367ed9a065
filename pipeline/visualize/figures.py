"""The figures several methods share: a grid of captioned images, and images over their per-pixel
maps. A method's own figure lives in its module. Every figure has a title, class names where
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
