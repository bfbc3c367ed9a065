"""t-SNE (van der Maaten and Hinton 2008, scikit-learn's) of the penultimate representation:
the learned features of the test split laid out in 2D, to be coloured by class."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.inference import batched
from pipeline.visualize._common import as_batch, float32, graph


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
