"""t-SNE (van der Maaten and Hinton 2008, scikit-learn's) of the penultimate representation:
the learned features of the test split laid out in 2D, to be coloured by class."""

from __future__ import annotations

import keras
import numpy as np

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
    features = np.concatenate([np.asarray(float32(features_of(x[s:s + batch_size], training=False))).reshape(
        min(batch_size, len(x) - s), -1) for s in range(0, len(x), batch_size)])
    perplexity = min(perplexity, (len(x) - 1) / 3)  # scikit-learn needs perplexity < N
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features).astype(np.float32)
