"""Occlusion maps (Zeiler and Fergus, "Visualizing and understanding convolutional networks",
ECCV 2014): the probability of the true class while a grey patch hides part of the image. Where
it drops, the network was looking."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.inference import probabilities
from pipeline.visualize._common import as_batch, class_indices


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
    classes = class_indices(model, x, class_index)
    height, width = x.shape[1:3]
    positions = [(i, j) for i in _corners(height, patch, stride) for j in _corners(width, patch, stride)]
    maps = np.zeros(x.shape[:3], np.float32)
    for n, image in enumerate(x):
        copies = np.repeat(image[None], len(positions), axis=0)
        for k, (i, j) in enumerate(positions):
            copies[k, i : i + patch, j : j + patch] = value
        probs = probabilities(model, copies, batch_size)[:, classes[n]]
        total, count = np.zeros((height, width)), np.zeros((height, width))
        for p, (i, j) in zip(probs, positions):
            total[i : i + patch, j : j + patch] += p
            count[i : i + patch, j : j + patch] += 1
        maps[n] = total / count
    return maps
