"""Feature maps: what chosen layers compute for chosen inputs (the lecture's low-dimensional
encoding of the image, one map per filter)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from pipeline.visualize._common import as_batch, float32, submodel


def feature_maps(model: keras.Model, x, layer_names: Sequence[str]) -> dict[str, np.ndarray]:
    """layer name -> its activations for `x`, (N, h, w, channels) in float32."""
    outputs = submodel(model, list(layer_names))(as_batch(x), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {name: np.asarray(float32(out)) for name, out in zip(layer_names, outputs)}


def most_active_filters(model: keras.Model, layer: str, images, count: int) -> list[int]:
    """The `count` filters of `layer` most active on average over `images`, in index order."""
    mean = feature_maps(model, images, [layer])[layer].mean(axis=(0, 1, 2))
    return sorted(np.argsort(-mean, kind="stable")[:count].tolist())
