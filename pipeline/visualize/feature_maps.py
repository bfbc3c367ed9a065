"""Feature maps: what chosen layers compute for chosen inputs (the lecture's low-dimensional
encoding of the image, one map per filter)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np

from pipeline.drawing import Panel, grid, show
from pipeline.visualize.arrays import as_batch, float32
from pipeline.visualize.layer_graph import submodel
from pipeline.visualize.methods import Context, method


def feature_maps(model: keras.Model, x, layer_names: Sequence[str]) -> dict[str, np.ndarray]:
    """layer name -> its activations for `x`, (N, h, w, channels) in float32."""
    outputs = submodel(model, list(layer_names))(as_batch(x), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {name: np.asarray(float32(out)) for name, out in zip(layer_names, outputs)}


def most_active_filters(model: keras.Model, layer: str, images, count: int) -> list[int]:
    """The `count` filters of `layer` most active on average over `images`, in index order."""
    mean = feature_maps(model, images, [layer])[layer].mean(axis=(0, 1, 2))
    return sorted(np.argsort(-mean, kind="stable")[:count].tolist())


def feature_maps_figure(
    image: np.ndarray, maps: dict[str, np.ndarray], caption: str, max_channels: int = 12
) -> plt.Figure:
    """One input and, per layer, its first channels (viridis; brighter = stronger)."""
    fig, axes = grid(len(maps), max_channels + 1, f"Feature maps of {caption}")
    for row, (layer, activation) in enumerate(maps.items()):
        show(axes[row, 0], image, "input" if row == 0 else "")
        for c in range(min(max_channels, activation.shape[-1])):
            show(axes[row, c + 1], activation[..., c], f"{layer}[{c}]", cmap="viridis")
    fig.tight_layout()
    return fig


@method("feature_maps", "maps", conv=True)
def feature_maps_panel(c: Context) -> list[Panel]:
    inputs = {"a test image": c.shown[:1], **{f"the {k} photograph": v[None] for k, v in c.photos.items()}}
    return [
        Panel(
            f"feature_maps_{i}",
            feature_maps_figure(image[0], {k: v[0] for k, v in feature_maps(c.model, image, c.layers).items()}, name),
            f"What {', '.join(c.layers)} compute for {name}: each map is one filter's response.",
        )
        for i, (name, image) in enumerate(inputs.items())
    ]
