"""Inputs that maximise a filter or a class. Filters: gradient ascent from noise on
||h_{l,d}(x)|| (the lecture's maximum-response images; Erhan et al. 2009). Classes: ascent on
the class logit (Simonyan et al. 2014's class models). Both with jitter, blur and decay."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.visualize.arrays import float32
from pipeline.visualize.ascent import DEFAULT_REGULARISERS, Regularisers, gradient_ascent
from pipeline.visualize.feature_maps import most_active_filters
from pipeline.visualize.figures import images_figure
from pipeline.visualize.layer_graph import (
    layer_output,
    submodel,
)
from pipeline.visualize.methods import Context, method

START_NOISE = 0.1  # half-width of the uniform noise around grey the ascent starts from


def _start(model: keras.Model, count: int, seed: int, level: float = 0.5) -> np.ndarray:
    """Low-contrast noise around `level` (e.g. the data's mean), x_0 ~ U[level +- 0.1]: the
    lecture starts from U[0, 1]; a quieter start leaves the pattern, not the noise, in the result."""
    low, high = max(level - START_NOISE, 0.0), min(level + START_NOISE, 1.0)
    return np.random.default_rng(seed).uniform(low, high, (count, *model.input_shape[1:])).astype(np.float32)


def _norm(values: tf.Tensor) -> tf.Tensor:
    """L2 norm over axis 1 with a finite gradient at 0 (a dead filter stays put instead of NaN)."""
    return tf.sqrt(tf.reduce_sum(tf.square(values), axis=1) + 1e-12)


def _indices(index: int | Sequence[int], bound: int, what: str) -> np.ndarray:
    indices = np.atleast_1d(np.asarray(index, np.int32))
    if indices.min() < 0 or indices.max() >= bound:
        raise ValueError(f"{what} index out of range [0, {bound}). Received: {index}")
    return indices


def activation_maximization(
    model: keras.Model,
    layer_name: str,
    filter_index: int | Sequence[int],
    steps: int = 96,
    step_size: float = 0.05,
    regularisers: Regularisers = DEFAULT_REGULARISERS,
    seed: int = 0,
    start_level: float = 0.5,
) -> np.ndarray:
    """The input maximising the L2 norm of filter `filter_index` of `layer_name`: (H, W, C);
    a sequence of indices gives one image per filter, (len, H, W, C). The ascent starts from
    noise around `start_level` (the stage passes the data's mean pixel)."""
    width = layer_output(model, layer_name).shape[-1]
    indices = _indices(filter_index, width, f"Filter of layer {layer_name!r}")
    start = _start(model, len(indices), seed, start_level)
    args = (layer_name, tf.constant(indices))
    images = gradient_ascent(model, _filter_norms, start, steps, step_size, regularisers, seed, args)
    return images[0] if np.ndim(filter_index) == 0 else images


def _filter_norms(model: keras.Model, x: tf.Tensor, layer_name: str, indices: tf.Tensor) -> tf.Tensor:
    """Example i's score: the L2 norm of filter indices[i]'s map at `layer_name`."""
    maps = float32(submodel(model, [layer_name])(x, training=False))  # built once per traced step
    flat = tf.reshape(maps, [tf.shape(maps)[0], -1, maps.shape[-1]])
    return _norm(tf.gather(flat, indices, axis=2, batch_dims=1))


def class_model(
    model: keras.Model,
    class_index: int | Sequence[int],
    steps: int = 96,
    step_size: float = 0.05,
    regularisers: Regularisers = DEFAULT_REGULARISERS,
    seed: int = 0,
) -> np.ndarray:
    """The input maximising the logit of `class_index`: (H, W, C), or one image per class."""
    indices = _indices(class_index, model.output_shape[-1], "Class")
    start = _start(model, len(indices), seed)
    images = gradient_ascent(model, _class_logits, start, steps, step_size, regularisers, seed, (tf.constant(indices),))
    return images[0] if np.ndim(class_index) == 0 else images


def _class_logits(model: keras.Model, x: tf.Tensor, indices: tf.Tensor) -> tf.Tensor:
    """Example i's score: the logit of class indices[i]."""
    return tf.gather(float32(model(x, training=False)), indices, axis=-1, batch_dims=1)


@method("activation_maximization", "preferred inputs", conv=True)
def activation_maximization_panel(c: Context) -> list[Panel]:
    panels = []
    for layer in c.layers:
        chosen = most_active_filters(c.model, layer, c.shown, c.settings.filters_per_layer)
        images = activation_maximization(
            c.model,
            layer,
            chosen,
            steps=c.settings.steps,
            seed=c.settings.seed,
            start_level=float(c.x.mean()),
        )
        panels.append(
            Panel(
                f"activation_maximization_{layer}",
                images_figure(images, [f"filter {f}" for f in chosen], f"{layer}: inputs that maximise each filter"),
                f"Gradient ascent on ||h(x)|| of the {len(chosen)} filters of {layer} most active on the test "
                "images, from faint noise at the data's mean: the pattern each responds to.",
            )
        )
    return panels


@method("class_model", "preferred inputs", classifier=True)
def class_model_panel(c: Context) -> list[Panel]:
    classes = list(c.settings.class_models or range(min(len(c.class_names), 20)))
    images = class_model(c.model, classes, steps=c.settings.steps, seed=c.settings.seed)
    return [
        Panel(
            "class_model",
            images_figure(images, [c.class_names[k] for k in classes], "Class models"),
            "Inputs that maximise each class logit: what the network takes each class to look like.",
        )
    ]
