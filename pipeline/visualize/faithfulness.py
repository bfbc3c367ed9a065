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

from collections.abc import Mapping

import keras
import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage

from pipeline.drawing import Panel
from pipeline.inference import probabilities, probabilities_of_copies
from pipeline.visualize.arrays import class_indices
from pipeline.visualize.layer_graph import kernel_layers
from pipeline.visualize.methods import ATTRIBUTIONS, Context, method
from pipeline.visualize.randomization import randomization_panel

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


NEEDS_CONV = ("grad_cam", "grad_cam_plus_plus", "score_cam")  # attributions read from a conv layer's maps


@method("faithfulness", "trust", classifier=True)
def faithfulness_panel(c: Context) -> list[Panel]:
    f = c.settings.faithfulness
    methods = [m for m in f.methods if m not in NEEDS_CONV or kernel_layers(c.model)]
    x = c.x[: f.num_images]
    settings = {k: f[k] for k in ("baseline", "steps", "grid", "subset", "samples", "batch_size")}
    maps = {m: ATTRIBUTIONS[m](c.model, x, batch_size=f.batch_size) for m in methods}
    maps["random"] = random_maps(x.shape[:3], c.settings.seed)
    per_image = {m: faithfulness(c.model, x, m_maps, **settings) for m, m_maps in maps.items()}
    for m, numbers in per_image.items():
        for k, values in numbers.items():
            c.metrics[f"faithfulness_{m}_{k}"] = float(np.mean(values))
            c.series[f"faithfulness_{m}_{k}_per_image"] = dict(enumerate(map(float, values)))  # step: image
    floor = {k: float(np.mean(v)) for k, v in per_image.pop("random").items()}
    caption = (
        f"Remove the pixels a map ranks first (deletion), add them to a {f.baseline} baseline (insertion), or "
        f"remove random {f.grid}x{f.grid} cells (MuFidelity: does the map's mass there predict the probability's "
        "drop?). Bars: the mean over the images; dots: each image (in MLflow as the metric's per_image series, "
        "step = image). The dashed line is a random map: a method should beat it."
    )
    return [
        Panel("faithfulness", faithfulness_figure(per_image, floor), caption),
        randomization_panel(c, methods, x[: f.randomization_images]),
    ]
