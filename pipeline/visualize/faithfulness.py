"""Is a map faithful to the model? Three numbers per image, for any attribution map oriented so
that higher means more important:

- Deletion AUC (Petsiuk, Das and Saenko, "RISE", BMVC 2018): replace the pixels by the baseline,
  most important first, `steps` equal chunks, and average the class probability along the way
  (trapezoid rule over the fraction removed). Lower is better: a faithful map kills the class fast.
- Insertion AUC (same paper): from the baseline, put the pixels back in the same order. Higher is
  better.
- MuFidelity (Bhatt, Weller and Moura, "Evaluating and aggregating feature-based model
  explanations", IJCAI 2020): over `samples` random subsets of a `grid` x `grid` partition (each
  cell removed with probability `subset`), the Pearson correlation between the map's mass on the
  removed cells and the drop of the class probability. Higher is better. Defaults as in Xplique's
  implementation of the paper: 9 x 9, 0.2, 200 subsets.

Baselines: "blur" (a Gaussian blur of the image, sigma an eighth of its side: RISE's insertion
canvas), "mean" (each channel's mean), "zero". A map drawn at random (`random_maps`) is the floor
every method is compared with. The model never sees more than `batch_size` perturbed images at
once; they are made one batch at a time.
"""

from __future__ import annotations

import keras
import numpy as np
import scipy.ndimage

from pipeline.inference import probabilities, probabilities_of_copies
from pipeline.visualize._common import class_indices

BASELINES = ("blur", "mean", "zero")


def baseline_images(x: np.ndarray, baseline: str) -> np.ndarray:
    """What a removed pixel becomes, (N, H, W, C), for each image of `x`."""
    if baseline == "blur":
        sigma = max(x.shape[1], x.shape[2]) / 8
        return scipy.ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="nearest").astype(np.float32)
    if baseline == "mean":
        return np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape).astype(np.float32)
    if baseline == "zero":
        return np.zeros_like(x, np.float32)
    raise ValueError(f"Unknown baseline {baseline!r}; known: {', '.join(BASELINES)}")


def random_maps(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """(N, H, W) uniform noise: the map that knows nothing, the floor of every metric."""
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def faithfulness(
    model: keras.Model,
    x,
    maps,
    class_index=None,
    baseline: str = "blur",
    steps: int = 50,
    grid: int = 9,
    subset: float = 0.2,
    samples: int = 200,
    batch_size: int = 256,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """{"deletion_auc", "insertion_auc", "mufidelity"}, each (N,), for `maps` (N, H, W) of the
    images `x` (N, H, W, C); `class_index`: the class explained (None: the predicted one)."""
    x, maps = np.asarray(x, np.float32), np.asarray(maps, np.float32)
    if maps.shape != x.shape[:3]:
        raise ValueError(f"maps must be (N, H, W) = {x.shape[:3]}, got {maps.shape}")
    if steps < 1 or grid < 1 or samples < 2 or not 0 < subset < 1:
        raise ValueError(
            f"need steps >= 1, grid >= 1, samples >= 2, 0 < subset < 1; got {steps, grid, samples, subset}"
        )
    classes = class_indices(model, x, class_index, batch_size)
    fill = baseline_images(x, baseline)
    ranks = _ranks(maps)
    deletion = _curves(model, x, fill, ranks, classes, steps, batch_size)
    insertion = _curves(model, fill, x, ranks, classes, steps, batch_size)
    return {
        "deletion_auc": _auc(deletion),
        "insertion_auc": _auc(insertion),
        "mufidelity": mufidelity(model, x, maps, classes, fill, grid, subset, samples, batch_size, seed),
    }


def _ranks(maps: np.ndarray) -> np.ndarray:
    """(N, H, W): each pixel's place when the pixels are sorted by decreasing importance."""
    flat = maps.reshape(len(maps), -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None], axis=1)
    return ranks.reshape(maps.shape)


def _curves(model, start, end, ranks, classes, steps, batch_size) -> np.ndarray:
    """(N, steps + 1): the class probability as the pixels move from `start` to `end` in rank
    order, ceil(H * W / steps) pixels a step."""
    pixels = ranks[0].size
    chunk = -(-pixels // steps)

    def build(index: np.ndarray) -> np.ndarray:
        image, step = index // (steps + 1), index % (steps + 1)
        moved = ranks[image] < (step * chunk)[:, None, None]
        return np.where(moved[..., None], end[image], start[image])

    scores = probabilities_of_copies(model, build, len(start) * (steps + 1), np.repeat(classes, steps + 1), batch_size)
    return scores.reshape(len(start), steps + 1)


def _auc(curves: np.ndarray) -> np.ndarray:
    """The trapezoid rule over [0, 1] with equal steps."""
    return ((curves.sum(axis=1) - (curves[:, 0] + curves[:, -1]) / 2) / (curves.shape[1] - 1)).astype(np.float32)


def mufidelity(model, x, maps, classes, fill, grid, subset, samples, batch_size, seed) -> np.ndarray:
    """(N,): per image, the Pearson correlation between the map's mass on each random subset of
    grid cells and the class probability's drop when that subset takes the baseline (the same
    subsets for every image and every map, given the seed)."""
    height, width = x.shape[1:3]
    removed_cells = np.random.default_rng(seed).random((samples, grid, grid)) < subset
    cell_rows, cell_cols = np.arange(height) * grid // height, np.arange(width) * grid // width
    removed = removed_cells[:, cell_rows][:, :, cell_cols]  # (samples, H, W)

    def build(index: np.ndarray) -> np.ndarray:
        image, sample = index // samples, index % samples
        return np.where(removed[sample][..., None], fill[image], x[image])

    drops = probabilities(model, x, batch_size)[np.arange(len(x)), classes][:, None] - probabilities_of_copies(
        model, build, len(x) * samples, np.repeat(classes, samples), batch_size
    ).reshape(len(x), samples)
    mass = np.einsum("shw,nhw->ns", removed.astype(np.float32), maps)
    return np.array([_pearson(m, d) for m, d in zip(mass, drops, strict=True)], np.float32)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / scale) if scale > 0 else 0.0
