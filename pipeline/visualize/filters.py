"""Learned kernels (the lecture's "trained kernels"): a layer's weights as images."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.visualize._common import kernel_layers


def filters(model: keras.Model, layer_name: str | None = None) -> np.ndarray:
    """The kernel of a 2D convolution, (kh, kw, in_channels, filters); None: the first one."""
    names = kernel_layers(model)
    if not names:
        raise ValueError(f"Model {model.name!r} has no 2D convolution to show.")
    name = layer_name or names[0]
    if name not in names:
        raise ValueError(f"Layer {name!r} is not a 2D convolution. Convolutions: {', '.join(names)}.")
    return np.asarray(keras.ops.convert_to_numpy(model.get_layer(name).kernel), np.float32)
