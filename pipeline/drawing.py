"""Drawing helpers every stage's figures share: the non-interactive backend, grids of images,
images shown on their true [0, 1] scale, and `Panel` (one figure with its caption, as stages
publish it)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # figures are files, no display needed; a notebook keeps its inline figures
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

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


@dataclass
class Panel:
    """One figure: file name (no extension), the matplotlib figure, one line saying what it shows;
    optionally an animation, frames (H, W, C) in [0, 1], saved as `<name>.gif` and as PNG frames.
    Saving closes the figure (it is then None): a panel saves once."""

    name: str
    figure: plt.Figure | None
    caption: str
    animation: Sequence[np.ndarray] | None = None

    def save(self, folder: Path) -> None:
        if self.figure is None:
            return
        self.figure.savefig(folder / f"{self.name}.png", dpi=110, bbox_inches="tight")
        plt.close(self.figure)
        self.figure = None
        if self.animation is None:
            return
        frames = [Image.fromarray(to_uint8(frame)) for frame in self.animation]
        (folder / f"{self.name}_frames").mkdir(exist_ok=True)
        for i, frame in enumerate(frames):
            frame.save(folder / f"{self.name}_frames" / f"frame_{i:03d}.png")
        frames[0].save(folder / f"{self.name}.gif", save_all=True, append_images=frames[1:], duration=400, loop=0)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """An image in [0, 1] (grey with a trailing channel or not) as 8-bit RGB or grey."""
    image = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    image = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    return np.round(image * 255).astype(np.uint8)
