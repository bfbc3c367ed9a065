"""Where an architecture's head begins: the layers from there on are new in transfer learning
(initialised, not loaded) and stay trainable while the base is frozen."""

from __future__ import annotations

import keras

# VGG's Flatten or pooling head, ResNet's pooling, HED's side outputs (Keras orders them dsn2..dsn5, dsn1).
HEAD_LAYERS = ("flatten", "avg_pool", "dsn1", "dsn2", "dsn3", "dsn4", "dsn5")


def head_start(model: keras.Model) -> int:
    """The index in `model.layers` of the head's first layer (the layer count when it has none)."""
    names = [layer.name for layer in model.layers]
    return min((names.index(n) for n in HEAD_LAYERS if n in names), default=len(names))
