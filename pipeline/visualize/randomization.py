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
from collections.abc import Iterator
from typing import NamedTuple

import keras
import numpy as np
import scipy.stats
import tensorflow as tf

from pipeline.visualize._common import class_indices, unit_range
from pipeline.visualize.attributions import Attribution, attribution


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
