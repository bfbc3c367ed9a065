"""Integrated gradients (Sundararajan, Taly and Yan, "Axiomatic attribution for deep networks",
ICML 2017): (x - x') times the class logit's gradient averaged along the straight path from a
baseline x' to x (the trapezoid rule over `steps` equal pieces), summed over channels; signed.
Completeness: the attributions add up to f(x) - f(x'), the more closely the more steps; a gap
above `tolerance` (relative to |f(x) - f(x')|) is logged as a warning naming the cure.
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from pipeline.drawing import Panel
from pipeline.inference import batched, index_batches
from pipeline.visualize.arrays import class_indices, float32
from pipeline.visualize.methods import ATTRIBUTIONS, Context, heatmap_panel, method
from pipeline.visualize.saliency import input_gradient

log = logging.getLogger(__name__)


@ATTRIBUTIONS.register("integrated_gradients")
def integrated_gradients(
    model: keras.Model,
    x,
    class_index=None,
    steps: int = 50,
    baseline=None,
    batch_size: int = 256,
    tolerance: float = 0.05,
) -> np.ndarray:
    """(N, H, W) signed attributions of the class logit; `baseline` an image (H, W, C), one per
    example, or None (black); `class_index` None: the predicted class. The path's `steps + 1`
    points go to the model `batch_size` at a time."""
    if steps < 1:
        raise ValueError(f"integrated_gradients needs steps >= 1, got {steps}")
    x = np.asarray(x, np.float32)
    base = np.broadcast_to(np.zeros_like(x) if baseline is None else np.asarray(baseline, np.float32), x.shape)
    classes = class_indices(model, x, class_index, batch_size)
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] /= 2  # the trapezoid rule on alpha = 0, 1/steps, ..., 1
    total = np.zeros_like(x)
    for index in index_batches(len(x) * (steps + 1), batch_size):
        image, point = index // (steps + 1), index % (steps + 1)
        alpha = (point / steps).astype(np.float32)[:, None, None, None]
        grads = input_gradient(model, base[image] + alpha * (x[image] - base[image]), classes[image], batch_size)
        np.add.at(total, image, weights[point][:, None, None, None] * grads)
    maps = ((x - base) * total).sum(axis=-1)
    _check_completeness(model, x, base, maps, classes, tolerance, batch_size)
    return maps


def completeness_gap(model: keras.Model, x, baseline, maps, classes, batch_size: int = 256) -> np.ndarray:
    """(N,): |sum(maps) - (f(x) - f(x'))| / |f(x) - f(x')|, f the class logit."""
    rows = np.arange(len(x))
    change = _logits(model, x, batch_size)[rows, classes] - _logits(model, baseline, batch_size)[rows, classes]
    return np.abs(maps.reshape(len(x), -1).sum(axis=1) - change) / np.maximum(np.abs(change), 1e-6)


def _check_completeness(model, x, base, maps, classes, tolerance, batch_size) -> None:
    gap = completeness_gap(model, x, base, maps, classes, batch_size)
    if gap.max() > tolerance:
        log.warning(
            "integrated_gradients: the attributions miss f(x) - f(baseline) by up to %.1f%% (tolerance %.1f%%): "
            "raise steps",
            100 * gap.max(),
            100 * tolerance,
        )


def _logits(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    return batched(lambda part: float32(model(part, training=False)), x, batch_size)


@method("integrated_gradients", "attribution", classifier=True)
def integrated_gradients_panel(c: Context) -> list[Panel]:
    maps = integrated_gradients(c.model, c.shown, batch_size=c.settings.faithfulness.batch_size)
    bound = float(np.abs(maps).max()) or 1.0
    caption = (
        "Integrated gradients from a black image: each pixel's share of the class logit (red for, blue against); "
        "the shares add up to the logit's change."
    )
    title = "Integrated gradients (signed)"
    style = {"cmap": "RdBu_r", "overlay": False}
    return heatmap_panel(
        c, "integrated_gradients", np.clip(maps / bound, -1, 1), title, "attribution", caption, **style
    )
