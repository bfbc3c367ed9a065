"""Drawing helpers every stage's `plots.py` shares: the non-interactive backend, grids of images,
and images shown on their true [0, 1] scale."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are files: no display needed
import matplotlib.pyplot as plt
import numpy as np

CELL = 1.6  # inches per image in a grid


def displayable(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An (H, W, C) array as imshow wants it: grey for 1 channel, RGB for 3, else the mean."""
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        return image, "gray"
    if image.shape[-1] == 3:
        return np.clip(image, 0.0, 1.0), None
    return image.mean(axis=-1), "gray"


def grid(rows: int, cols: int, title: str, extra_width: float = 0.0):
    fig, axes = plt.subplots(rows, cols, figsize=(CELL * cols + extra_width, CELL * rows + 0.6), squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    fig.suptitle(title, fontsize=10)
    return fig, axes


def show(axis, image: np.ndarray, title: str = "", **kwargs):
    """An image on its true [0, 1] scale (no per-image contrast stretch), or a map with `cmap`."""
    data, cmap = displayable(image)
    if "cmap" not in kwargs and cmap == "gray":
        kwargs |= {"vmin": 0.0, "vmax": 1.0}
    shown = axis.imshow(data, cmap=kwargs.pop("cmap", cmap), **kwargs)
    axis.set_title(title, fontsize=7)
    return shown
