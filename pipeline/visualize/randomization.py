"""The model-randomization sanity check (Adebayo et al., "Sanity checks for saliency maps",
NeurIPS 2018): re-draw the weights of a copy of the model layer by layer, from the output down
(cascading: each step keeps the layers above it random), and compare a method's maps before and
after each step. A map that still looks the same once every layer is random shows the image,
not the model. Similarity: the Spearman rank correlation of the maps' absolute values and the
SSIM of the maps scaled to [0, 1], each averaged over the images. The model itself is untouched.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

import keras
import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.visualize.arrays import class_indices, unit_range
from pipeline.visualize.methods import Attribution, Context, attribution

log = logging.getLogger(__name__)


class Step(NamedTuple):
    layer: str  # the layer re-drawn at this step (every layer above it already is)
    spearman: float
    ssim: float


def randomization_check(
    model: keras.Model, method: str | Attribution, x, class_index=None, seed: int = 0, batch_size: int = 256
) -> list[Step]:
    """One `Step` per layer with weights, from the top down; `method` a registered attribution's
    name or any `(model, x, class_index=None, batch_size=256) -> maps` callable."""
    return randomization_checks(model, [method], x, class_index, seed, batch_size)[0]


def randomization_checks(
    model: keras.Model, methods: list, x, class_index=None, seed: int = 0, batch_size: int = 256
) -> list[list[Step]]:
    """`randomization_check` of several methods on one randomised copy (one copy, one cascade)."""
    explain = [attribution(m) for m in methods]
    x = np.asarray(x, np.float32)
    classes = class_indices(model, x, class_index, batch_size)  # fixed first: the random model predicts others
    before = [e(model, x, classes, batch_size=batch_size) for e in explain]
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)
    steps = [[] for _ in methods]
    with _quiet("pipeline.visualize.integrated_gradients"):  # a random model's completeness is not in question
        for layer in reversed([layer for layer in _flat_layers(copy) if layer.weights]):
            layer.set_weights([_redrawn(w, rng) for w in layer.get_weights()])
            for e, b, found in zip(explain, before, steps, strict=True):
                after = e(copy, x, classes, batch_size=batch_size)
                found.append(Step(layer.name, spearman(b, after), ssim(b, after)))
    return steps


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """The logger's warnings held back for the block."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _flat_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in order, nested models opened."""
    found = []
    for layer in model.layers:
        found += _flat_layers(layer) if isinstance(layer, keras.Model) else [layer]
    return found


def _redrawn(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fresh Gaussian weights of the trained ones' scale (a constant array, e.g. a bias: its size)."""
    scale = float(weights.std()) or float(np.abs(weights).mean()) or 0.05
    return rng.normal(0.0, scale, weights.shape).astype(weights.dtype)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over images of the rank correlation of |a| and |b| (0 where a map is constant)."""
    values = []
    for p, q in zip(np.abs(a).reshape(len(a), -1), np.abs(b).reshape(len(b), -1), strict=True):
        values.append(0.0 if np.ptp(p) == 0 or np.ptp(q) == 0 else scipy.stats.spearmanr(p, q).statistic)
    return float(np.mean(values))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over images of the SSIM of |a| and |b|, each scaled to [0, 1]."""
    size = min(11, a.shape[1], a.shape[2])
    unit = [unit_range(np.abs(m))[..., None] for m in (a, b)]
    return float(tf.reduce_mean(tf.image.ssim(unit[0], unit[1], max_val=1.0, filter_size=size)))


def randomization_figure(curves: Mapping[str, Sequence[tuple[str, float, float]]], threshold: float) -> plt.Figure:
    """Spearman rank correlation between each method's maps on the trained model and on copies
    whose layers are re-drawn from the top down; flat near 1 means the map ignores the model."""
    fig, axis = plt.subplots(figsize=(9.5, 3.6))
    for method, steps in curves.items():
        axis.plot(range(len(steps)), [s[1] for s in steps], marker="o", label=method)
    layers = [s[0] for s in next(iter(curves.values()))]
    axis.set_xticks(range(len(layers)), [f"+{name}" for name in layers], rotation=30, fontsize=7, ha="right")
    axis.axhline(threshold, color="k", linestyle="--", label=f"flag above {threshold:g}")
    lowest = min(s[1] for steps in curves.values() for s in steps)
    axis.set_ylim(min(-0.2, lowest - 0.05), 1.05)
    axis.set_ylabel("Spearman, trained vs randomised")
    axis.set_xlabel("layers re-drawn, cumulatively from the output")
    axis.set_title("Randomization check (Adebayo et al. 2018): the maps should change as the model does")
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def randomization_panel(c: Context, methods: list[str], x: np.ndarray) -> Panel:
    """The randomization check of each method on `x`: its figure, its numbers as metrics, and a
    warning for each method that fails it."""
    f = c.settings.faithfulness
    found = randomization_checks(c.model, methods, x, seed=c.settings.seed, batch_size=f.batch_size)
    curves = dict(zip(methods, found, strict=True))
    for m, steps in curves.items():
        c.metrics |= {f"randomization_{m}_spearman": steps[-1].spearman, f"randomization_{m}_ssim": steps[-1].ssim}
        if steps[-1].spearman > f.randomization_threshold:
            line = (
                f"{m} failed the randomization check: its maps on a fully random model still correlate "
                f"{steps[-1].spearman:.2f} (> {f.randomization_threshold:g}) with the trained model's: "
                "they show the image, not the model"
            )
            log.warning("visualize: %s", line)
            c.warnings.append(line)
    return Panel(
        "randomization",
        randomization_figure(curves, f.randomization_threshold),
        "Each method's maps on copies of the model whose layers are re-drawn from the output down: a faithful "
        "method's maps fall apart as the weights they explain do.",
    )
