"""t-SNE (van der Maaten and Hinton 2008, scikit-learn's) of the penultimate representation:
the learned features of the test split laid out in 2D, to be coloured by class."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np

from pipeline.drawing import Panel
from pipeline.inference import batched
from pipeline.visualize.arrays import as_batch, float32
from pipeline.visualize.layer_graph import graph
from pipeline.visualize.methods import Context, method


def penultimate(model: keras.Model) -> keras.Model:
    """The model up to the input of its last layer (the features the classifier reads)."""
    g = graph(model)
    return keras.Model(g.input, g.inputs[model.layers[-1].name])


def embedding(model: keras.Model, x, perplexity: float = 30.0, seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """2D t-SNE coordinates of the penultimate features of `x`, (N, 2)."""
    from sklearn.manifold import TSNE

    features_of = penultimate(model)
    x = as_batch(x).numpy()
    features = batched(lambda part: float32(features_of(part, training=False)), x, batch_size).reshape(len(x), -1)
    perplexity = min(perplexity, (len(x) - 1) / 3)  # scikit-learn needs perplexity < N
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features).astype(np.float32)


def embedding_figure(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str], title: str) -> plt.Figure:
    fig, axis = plt.subplots(figsize=(6.5, 5.5))
    colours = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    for k, name in enumerate(class_names):
        chosen = labels == k
        if chosen.any():
            axis.scatter(*coords[chosen].T, s=8, color=colours(k % colours.N), label=name)
    axis.set_title(title, fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])
    if len(class_names) <= 20:
        axis.legend(fontsize=7, markerscale=2, loc="best", frameon=False)
    fig.tight_layout()
    return fig


@method("embedding", "representation", classifier=True)
def embedding_panel(c: Context) -> list[Panel]:
    count = min(len(c.x), c.settings.embedding_examples)
    coords = embedding(c.model, c.x[:count], seed=c.settings.seed)
    return [
        Panel(
            "embedding",
            embedding_figure(
                coords, c.y[:count], c.class_names, f"t-SNE of the penultimate features ({count} test images)"
            ),
            "The features the classifier reads, laid out in 2D by t-SNE: classes the network separates form clusters.",
        )
    ]
