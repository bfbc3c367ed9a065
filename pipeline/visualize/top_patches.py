"""The inputs that excite a unit most (Zeiler and Fergus, "Visualizing and understanding
convolutional networks", ECCV 2014, the lecture's "inputs which maximised the output of layers
1...5"): for each filter of a layer, the k images of a set where the filter's strongest response
is highest, each cropped to the receptive field of the unit that responded. The crop has the
layer's theoretical receptive-field size (`receptive_field.geometry`), centred where the unit's
input gradient is, and shifted to stay inside the image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel, grid, show
from pipeline.inference import batched
from pipeline.visualize.arrays import float32
from pipeline.visualize.feature_maps import most_active_filters
from pipeline.visualize.layer_graph import submodel
from pipeline.visualize.methods import Context, method
from pipeline.visualize.receptive_field import geometry


@dataclass(frozen=True)
class TopPatches:
    """Per filter (F) and rank (k): the crop (F, k, h, w, C), the image it comes from (F, k),
    the responding unit's (row, col) in the layer's map (F, k, 2) and its activation (F, k)."""

    patches: np.ndarray
    images: np.ndarray
    units: np.ndarray
    activations: np.ndarray


def top_activating_patches(
    model: keras.Model, layer_name: str, images, filters=None, k: int = 9, batch_size: int = 256
) -> TopPatches:
    """`filters`: indices into the layer's channels (None: all of them)."""
    images = np.asarray(images, np.float32)
    probe = submodel(model, [layer_name])
    maps = batched(lambda part: float32(probe(part, training=False)), images, batch_size)  # (N, h, w, K)
    filters = np.arange(maps.shape[-1]) if filters is None else np.asarray(filters)
    k = min(k, len(images))
    flat = maps[..., filters].reshape(len(images), -1, len(filters))  # (N, h * w, F)
    best_place, best_value = flat.argmax(axis=1), flat.max(axis=1)  # (N, F)
    chosen = np.argsort(-best_value, axis=0, kind="stable")[:k].T  # (F, k)
    places = np.take_along_axis(best_place.T, chosen, axis=1)
    units = np.stack(np.unravel_index(places, maps.shape[1:3]), axis=-1)  # (F, k, 2)
    centres = _centres(probe, images, chosen, units, filters, batch_size)
    size = np.minimum(geometry(model)[layer_name][0], images.shape[1:3])
    patches = _crops(images, chosen, centres, size)
    return TopPatches(patches, chosen, units, np.take_along_axis(best_value.T, chosen, axis=1))


def _centres(probe, images, chosen, units, filters, batch_size) -> np.ndarray:
    """(F, k, 2): the centre of mass of |d unit / d image| for each chosen unit."""
    picks = [(chosen[f, r], f, r) for f, r in np.ndindex(chosen.shape)]
    centres = np.zeros((*chosen.shape, 2))
    rows, cols = np.arange(images.shape[1])[:, None], np.arange(images.shape[2])[None, :]
    for start in range(0, len(picks), batch_size):
        part = picks[start : start + batch_size]
        x = tf.constant(images[[i for i, _, _ in part]])
        where = np.array([[n, *units[f, r], filters[f]] for n, (_, f, r) in enumerate(part)])
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = tf.reduce_sum(tf.gather_nd(float32(probe(x, training=False)), where))
        weight = np.abs(tape.gradient(value, x).numpy()).sum(axis=-1)  # (n, H, W)
        total = np.maximum(weight.sum(axis=(1, 2)), 1e-12)
        for n, (_, f, r) in enumerate(part):
            centres[f, r] = (weight[n] * rows).sum() / total[n], (weight[n] * cols).sum() / total[n]
    return centres


def _crops(images: np.ndarray, chosen: np.ndarray, centres: np.ndarray, size) -> np.ndarray:
    """(F, k, h, w, C): windows of `size` around the centres, shifted inside the image."""
    h, w = (int(v) for v in size)
    top = np.clip(np.round(centres[..., 0] - (h - 1) / 2).astype(int), 0, images.shape[1] - h)
    left = np.clip(np.round(centres[..., 1] - (w - 1) / 2).astype(int), 0, images.shape[2] - w)
    out = np.zeros((*chosen.shape, h, w, images.shape[-1]), np.float32)
    for f, r in np.ndindex(chosen.shape):
        out[f, r] = images[chosen[f, r], top[f, r] : top[f, r] + h, left[f, r] : left[f, r] + w]
    return out


def patches_figure(patches: np.ndarray, filters: Sequence[int], layer: str) -> plt.Figure:
    """One row per filter: its top patches, strongest first."""
    fig, axes = grid(len(filters), patches.shape[1], f"{layer}: the test patches that excite each filter most", 0.9)
    axes = np.asarray(axes).reshape(len(filters), patches.shape[1])
    for row, f in enumerate(filters):
        for col in range(patches.shape[1]):
            show(axes[row, col], patches[row, col], f"filter {f}" if col == 0 else "")
    fig.tight_layout()
    return fig


@method("top_patches", "preferred inputs", conv=True)
def top_patches_panel(c: Context) -> list[Panel]:
    panels = []
    for layer in c.layers:
        chosen = most_active_filters(c.model, layer, c.x, c.settings.filters_per_layer)
        found = top_activating_patches(c.model, layer, c.x, chosen, k=9, batch_size=c.settings.faithfulness.batch_size)
        caption = (
            f"For the {len(chosen)} filters of {layer} most active on the test images, the {found.patches.shape[1]} "
            f"test images where each responds most, cropped to the unit's receptive field "
            f"({found.patches.shape[2]}x{found.patches.shape[3]} pixels; Zeiler and Fergus 2014)."
        )
        figure = patches_figure(found.patches, chosen, layer)
        panels.append(Panel(f"top_patches_{layer}", figure, caption))
    return panels
