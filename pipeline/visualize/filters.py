"""Learned kernels (the lecture's "trained kernels"): a layer's weights as images."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np

from pipeline.drawing import Panel, grid
from pipeline.models import Preprocess
from pipeline.visualize.figures import images_figure
from pipeline.visualize.layer_graph import (
    kernel_layers,
)
from pipeline.visualize.methods import Context, method


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


def kernels_figure(kernel: np.ndarray, layer: str, max_filters: int = 16, max_inputs: int = 6) -> plt.Figure:
    """A conv kernel (kh, kw, in, out): RGB images for a colour first layer, otherwise one row per
    input channel in a diverging map (red positive, blue negative) on a shared scale."""
    kernel = kernel[..., :max_filters]
    if kernel.shape[2] == 3:
        low, high = kernel.min(axis=(0, 1, 2)), kernel.max(axis=(0, 1, 2))
        images = [(kernel[..., f] - low[f]) / max(high[f] - low[f], 1e-12) for f in range(kernel.shape[-1])]
        return images_figure(images, [f"filter {f}" for f in range(len(images))], f"{layer}: learned kernels (RGB)")
    rows = min(kernel.shape[2], max_inputs)
    bound = float(np.abs(kernel[:, :, :rows]).max()) or 1.0
    fig, axes = grid(rows, kernel.shape[-1], f"{layer}: learned kernels, rows = input channels (first {rows})", 1.0)
    for i in range(rows):
        for f in range(kernel.shape[-1]):
            shown = axes[i, f].imshow(kernel[:, :, i, f], cmap="RdBu_r", vmin=-bound, vmax=bound)
            axes[i, f].set_title(f"in {i} / f {f}", fontsize=6)
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    return fig


@method("filters", "weights", conv=True)
def filters_panel(c: Context) -> list[Panel]:
    first = kernel_layers(c.model)[0]
    return [
        Panel(
            "filters",
            kernels_figure(filters(c.model, first), first),
            f"The learned kernels of {first}: the first layer's filters are edge, blob and colour detectors.",
        )
    ]
