"""Learned kernels (the lecture's "trained kernels"): a layer's weights as images."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.models import Preprocess
from pipeline.visualize._common import kernel_layers


def filters(model: keras.Model, layer_name: str | None = None) -> np.ndarray:
    """The kernel of a 2D convolution, (kh, kw, in_channels, filters); None: the first one. The
    first conv of a model that reorders colours (pretrained weights' BGR) is returned in RGB."""
    names = kernel_layers(model)
    if not names:
        raise ValueError(f"Model {model.name!r} has no 2D convolution to show.")
    name = layer_name or names[0]
    if name not in names:
        raise ValueError(f"Layer {name!r} is not a 2D convolution. Convolutions: {', '.join(names)}.")
    kernel = np.asarray(keras.ops.convert_to_numpy(model.get_layer(name).kernel), np.float32)
    bgr = any(isinstance(layer, Preprocess) and layer.bgr for layer in model.layers)
    return kernel[:, :, ::-1] if bgr and name == names[0] and kernel.shape[2] == 3 else kernel
