"""Is a map faithful to the model? Three numbers per image, for any attribution map oriented so
that higher means more important. What each computes, and where its defaults differ from the
two reference implementations (Xplique 2.0's `Deletion`, `Insertion`, `MuFidelity`; Quantus's
`FaithfulnessCorrelation`, its name for Bhatt et al.'s metric):

- **Deletion AUC** (Petsiuk, Das and Saenko, "RISE", BMVC 2018): the pixels, most important first
  (a pixel is all its channels), take the `deletion_baseline` in `steps` chunks of
  ceil(H * W / steps) pixels; the class's `curve_score` is recorded after each chunk, and the
  area under it is integrated by the trapezoid rule over the fraction of pixels actually removed
  (the last chunks may remove fewer, or none: the axis is not compressed). Lower is better.
  Default baseline zero (black), as RISE deletes; Xplique's default is 0 as well.
- **Insertion AUC** (same paper): from the `insertion_baseline`, the pixels are put back in the same
  order. Higher is better. Default baseline a blurred copy of the image (Gaussian, sigma an eighth
  of its side), as RISE inserts; Xplique's default is 0 for insertion too.
- **MuFidelity** (Bhatt, Weller and Moura, "Evaluating and aggregating feature-based model
  explanations", IJCAI 2020): the image is cut into `grid` x `grid` cells of equal size
  ((H // grid) x (W // grid) pixels from the top-left corner; the few rows and columns past them
  belong to no cell and are never removed). Each of `samples` draws removes a random subset of
  exactly round(`subset` * grid^2) cells (they take the `deletion_baseline`), and the score is the
  correlation, over the draws, between the map's sum over the removed pixels and the drop of the
  class's `mufidelity_score`. Higher is better. By default the score is the class's logit, what
  attributions explain, and the correlation Pearson's, as in the paper; `mufidelity_score=
  "probability"` and `correlation="spearman"` on request. A map whose removed sums do not vary
  (a constant map: every subset has the same number of equal cells) scores 0, never NaN.
  Xplique removes each cell independently with probability `subset` (so the number removed
  varies, and any positive map then correlates with how many were removed), scores
  probabilities and correlates with Spearman; Quantus draws fixed-size subsets of single pixels.
  The subsets are drawn per image from a key made of the image's pixels and `seed`, so an image's
  score does not depend on the batch, order or subset of the data it is evaluated in.

A map drawn at random (`random_maps`) is the floor every method is compared with. The model never
sees more than `batch_size` perturbed images at once; they are made one batch at a time.
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage
import scipy.stats

from pipeline.drawing import Panel
from pipeline.example_keys import content_keys
from pipeline.inference import CLASS_SCORES, scores_of_copies
from pipeline.visualize.arrays import class_indices
from pipeline.visualize.layer_graph import kernel_layers
from pipeline.visualize.methods import ATTRIBUTIONS, Context, method
from pipeline.visualize.randomization import randomization_panel

BASELINES = ("blur", "mean", "zero")
SCORES = tuple(CLASS_SCORES)
CORRELATIONS = ("pearson", "spearman")
# removed sums whose spread is below this share of their size do not vary: the map scores 0
CONSTANT = 1e-6


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
    deletion_baseline: str = "zero",
    insertion_baseline: str = "blur",
    steps: int = 50,
    curve_score: str = "probability",
    grid: int = 8,
    subset: float = 0.2,
    samples: int = 200,
    mufidelity_score: str = "logit",
    correlation: str = "pearson",
    batch_size: int = 256,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """{"deletion_auc", "insertion_auc", "mufidelity"}, each (N,), for `maps` (N, H, W) of the
    images `x` (N, H, W, C); `class_index`: the class explained (None: the predicted one). The
    settings are the module's: baselines of `BASELINES`, scores of `SCORES`, `CORRELATIONS`."""
    x, maps = np.asarray(x, np.float32), np.asarray(maps, np.float32)
    _check(x, maps, steps, grid, subset, samples, (curve_score, mufidelity_score), correlation)
    classes = class_indices(model, x, class_index, batch_size)
    ranks, removal = _ranks(maps), baseline_images(x, deletion_baseline)
    deletion = _curves(model, x, removal, ranks, classes, steps, batch_size, curve_score)
    insertion = _curves(
        model, baseline_images(x, insertion_baseline), x, ranks, classes, steps, batch_size, curve_score
    )
    axis = curve_axis(ranks[0].size, steps)
    return {
        "deletion_auc": _auc(deletion, axis),
        "insertion_auc": _auc(insertion, axis),
        "mufidelity": mufidelity(
            model, x, maps, classes, removal, grid, subset, samples, batch_size, seed, mufidelity_score, correlation
        ),
    }


def _check(x, maps, steps, grid, subset, samples, scores, correlation) -> None:
    if maps.shape != x.shape[:3]:
        raise ValueError(f"maps must be (N, H, W) = {x.shape[:3]}, got {maps.shape}")
    if steps < 1 or not 1 <= grid <= min(x.shape[1:3]) or samples < 2 or not 0 < subset < 1:
        raise ValueError(
            f"need steps >= 1, 1 <= grid <= the image's side, samples >= 2, 0 < subset < 1; got "
            f"{steps, grid, samples, subset}"
        )
    for name in scores:
        if name not in SCORES:
            raise ValueError(f"Unknown score {name!r}; known: {', '.join(SCORES)}")
    if correlation not in CORRELATIONS:
        raise ValueError(f"Unknown correlation {correlation!r}; known: {', '.join(CORRELATIONS)}")


def _ranks(maps: np.ndarray) -> np.ndarray:
    """(N, H, W): each pixel's place when the pixels are sorted by decreasing importance."""
    flat = maps.reshape(len(maps), -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None], axis=1)
    return ranks.reshape(maps.shape)


def curve_axis(pixels: int, steps: int) -> np.ndarray:
    """(steps + 1,): the fraction of the pixels moved after each step of ceil(pixels / steps)."""
    chunk = -(-pixels // steps)
    return np.minimum(np.arange(steps + 1) * chunk, pixels) / pixels


def _curves(model, start, end, ranks, classes, steps, batch_size, score) -> np.ndarray:
    """(N, steps + 1): the class's score as the pixels move from `start` to `end` in rank order,
    ceil(H * W / steps) pixels a step."""
    pixels = ranks[0].size
    chunk = -(-pixels // steps)

    def build(index: np.ndarray) -> np.ndarray:
        image, step = index // (steps + 1), index % (steps + 1)
        moved = ranks[image] < (step * chunk)[:, None, None]
        return np.where(moved[..., None], end[image], start[image])

    count, repeated = len(start) * (steps + 1), np.repeat(classes, steps + 1)
    return scores_of_copies(model, build, count, repeated, batch_size, score).reshape(len(start), steps + 1)


def _auc(curves: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """The trapezoid rule over the fraction of pixels moved."""
    return np.trapezoid(curves, axis, axis=1).astype(np.float32)


def cell_masks(height: int, width: int, grid: int) -> np.ndarray:
    """(grid * grid, H, W) bool: the grid's cells, all (H // grid) x (W // grid) pixels."""
    rows, cols = height // grid, width // grid
    cell_of_row = np.where(np.arange(height) < rows * grid, np.arange(height) // rows, -1)
    cell_of_col = np.where(np.arange(width) < cols * grid, np.arange(width) // cols, -1)
    masks = np.zeros((grid, grid, height, width), bool)
    inside = (cell_of_row[:, None] >= 0) & (cell_of_col[None] >= 0)
    r, c = np.nonzero(inside)
    masks[cell_of_row[r], cell_of_col[c], r, c] = True
    return masks.reshape(grid * grid, height, width)


def removed_subsets(x: np.ndarray, cells: int, size: int, samples: int, seed: int) -> np.ndarray:
    """(N, samples, cells) bool: per image, `samples` random subsets of exactly `size` cells,
    drawn from a key of the image's pixels and `seed`."""
    draws = [np.random.default_rng(int(key)).random((samples, cells)) for key in content_keys(seed, x)]
    chosen = np.argsort(np.stack(draws), axis=-1, kind="stable")[..., :size]
    subsets = np.zeros((len(x), samples, cells), bool)
    np.put_along_axis(subsets, chosen, True, axis=-1)
    return subsets


def mufidelity(
    model, x, maps, classes, fill, grid, subset, samples, batch_size, seed, score="logit", correlation="pearson"
) -> np.ndarray:
    """(N,): per image, the correlation between the map's sum over each random subset of cells
    and the drop of the class's score when those cells take `fill` (see the module's docstring)."""
    masks = cell_masks(*x.shape[1:3], grid)
    size = max(1, min(len(masks) - 1, round(subset * len(masks))))
    subsets = removed_subsets(x, len(masks), size, samples, seed)

    def build(index: np.ndarray) -> np.ndarray:  # the removed pixels of one batch of draws only
        image, sample = index // samples, index % samples
        removed = np.einsum("bc,chw->bhw", subsets[image, sample].astype(np.float32), masks.astype(np.float32)) > 0
        return np.where(removed[..., None], fill[image], x[image])

    clean = CLASS_SCORES[score](model, x, batch_size)[np.arange(len(x)), classes]
    perturbed = scores_of_copies(model, build, len(x) * samples, np.repeat(classes, samples), batch_size, score)
    drops = clean[:, None] - perturbed.reshape(len(x), samples)
    sums = np.einsum("nsc,nc->ns", subsets.astype(np.float64), np.einsum("chw,nhw->nc", masks, maps.astype(np.float64)))
    return np.array([_correlation(s, d, correlation) for s, d in zip(sums, drops, strict=True)], np.float32)


def _correlation(sums: np.ndarray, drops: np.ndarray, kind: str) -> float:
    """Pearson's or Spearman's; 0 when either side does not vary."""
    if np.ptp(sums) <= CONSTANT * max(np.abs(sums).max(), 1e-12) or np.ptp(drops) == 0:
        return 0.0
    if kind == "spearman":
        sums, drops = scipy.stats.rankdata(sums), scipy.stats.rankdata(drops)
    return float(np.corrcoef(sums, drops)[0, 1])


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


SETTINGS = (  # the faithfulness function's settings that visualize.faithfulness holds
    "deletion_baseline",
    "insertion_baseline",
    "steps",
    "curve_score",
    "grid",
    "subset",
    "samples",
    "mufidelity_score",
    "correlation",
    "batch_size",
)


@method("faithfulness", "trust", classifier=True)
def faithfulness_panel(c: Context) -> list[Panel]:
    f = c.settings.faithfulness
    methods = [m for m in f.methods if m not in NEEDS_CONV or kernel_layers(c.model)]
    x = c.x[: f.num_images]
    settings = {k: f[k] for k in SETTINGS} | {"seed": c.settings.seed}
    maps = {m: ATTRIBUTIONS[m](c.model, x, batch_size=f.batch_size) for m in methods}
    maps |= {"random": random_maps(x.shape[:3], c.settings.seed), "constant": np.ones(x.shape[:3], np.float32)}
    per_image = {m: faithfulness(c.model, x, m_maps, **settings) for m, m_maps in maps.items()}
    for m, numbers in per_image.items():
        for k, values in numbers.items():
            c.metrics[f"faithfulness_{m}_{k}"] = float(np.mean(values))
            c.series[f"faithfulness_{m}_{k}_per_image"] = dict(enumerate(map(float, values)))  # step: image
    per_image.pop("constant")  # logged: its MuFidelity is 0 by construction, its curves follow the pixel order
    floor = {k: float(np.mean(v)) for k, v in per_image.pop("random").items()}
    caption = (
        f"Deletion: the pixels a map ranks first become {f.deletion_baseline}; insertion: they are put back on "
        f"a {f.insertion_baseline} image ({f.curve_score} of the class, area over the share of pixels moved). "
        f"MuFidelity: {f.correlation} correlation between the map's sum over random subsets of {f.grid}x{f.grid} "
        f"cells and the drop of the class's {f.mufidelity_score} when they are removed. Bars: the mean over the "
        "images; dots: each image (in MLflow as the metric's per_image series, step = image). The dashed line is a "
        "random map: a method should beat it."
    )
    return [
        Panel("faithfulness", faithfulness_figure(per_image, floor), caption),
        randomization_panel(c, methods, x[: f.randomization_images]),
    ]
