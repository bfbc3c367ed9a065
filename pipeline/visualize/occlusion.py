"""Occlusion maps (Zeiler and Fergus, "Visualizing and understanding convolutional networks",
ECCV 2014): the probability of the true class while a grey patch hides part of the image. Where
it drops, the network was looking."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.drawing import Panel
from pipeline.inference import probabilities, scores_of_copies
from pipeline.visualize.arrays import as_batch, class_indices
from pipeline.visualize.methods import ATTRIBUTIONS, Context, heatmap_panel, method


def patch_for(side: int) -> tuple[int, int]:
    """The patch and stride the stage uses on images of this side: a quarter of it, moved a
    sixteenth at a time."""
    return max(2, side // 4), max(1, side // 16)


def _corners(size: int, patch: int, stride: int) -> list[int]:
    last = max(size - patch, 0)
    return sorted(set(range(0, last + 1, stride)) | {last})


def occlusion(
    model: keras.Model, x, class_index=None, patch: int = 8, stride: int = 2, value: float = 0.5, batch_size: int = 256
) -> np.ndarray:
    """Probability of the class while a `patch` x `patch` square of `value` covers each pixel,
    averaged over the patch positions covering it: (N, H, W).

    Args:
        class_index: the true classes (an int or one per example); None: the predicted class.
    """
    x = as_batch(x).numpy()
    classes = class_indices(model, x, class_index, batch_size)
    height, width = x.shape[1:3]
    positions = [(i, j) for i in _corners(height, patch, stride) for j in _corners(width, patch, stride)]

    def covered(index: np.ndarray) -> np.ndarray:  # copy k of image n: index n * len(positions) + k
        copies = x[index // len(positions)].copy()
        for copy, k in zip(copies, index % len(positions), strict=True):
            i, j = positions[k]
            copy[i : i + patch, j : j + patch] = value
        return copies

    count = len(x) * len(positions)
    probs = scores_of_copies(model, covered, count, np.repeat(classes, len(positions)), batch_size)
    total, covers = np.zeros(x.shape[:3]), np.zeros((height, width))
    for (i, j), p in zip(positions, probs.reshape(len(x), len(positions)).T, strict=True):
        total[:, i : i + patch, j : j + patch] += p[:, None, None]
        covers[i : i + patch, j : j + patch] += 1
    return (total / covers).astype(np.float32)


@ATTRIBUTIONS.register("occlusion")
def _occlusion_attribution(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    """The drop of the class probability when a patch covers the pixel (the stage's patch)."""
    x = np.asarray(x, np.float32)
    classes = class_indices(model, x, class_index, batch_size)
    patch, stride = patch_for(min(x.shape[1:3]))
    kept = occlusion(model, x, classes, patch=patch, stride=stride, batch_size=batch_size)
    return probabilities(model, x, batch_size)[np.arange(len(x)), classes][:, None, None] - kept


@method("occlusion", "attribution", classifier=True)
def occlusion_panel(c: Context) -> list[Panel]:
    patch, stride = patch_for(c.x.shape[1])
    maps = occlusion(c.model, c.shown, c.y[: len(c.shown)], patch=patch, stride=stride)
    title = "Occlusion: probability of the true class"
    caption = "The true class's probability while a grey square hides each region: low (red) where the evidence is."
    return heatmap_panel(c, "occlusion", maps, title, "P(true class)", caption, cmap="RdYlBu", overlay=False)
