"""`siamese`: twin towers sharing their weights over a pair of images, then one logit of "same
class?" (the lecture's "face pair - same person?"; Bromley et al. 1993, Koch, Zemel and
Salakhutdinov 2015). Input (2, H, W, C), the pairs of `target="pair"`; the tower is any
architecture (LeNet-5 by default) ending in an `embedding`-wide code; the logit is
b - s * ||code_1 - code_2||^2 with a learned s >= 0 (the squared distance of Hadsell, Chopra and
LeCun's contrastive loss, through a sigmoid), so the tower must learn a distance, not a
classifier of the seen classes."""

from __future__ import annotations

from types import SimpleNamespace

import keras


def min_input(**options) -> int:
    return 1  # the tower checks its own


def build(inputs, num_classes: int, family: SimpleNamespace, tower: str = "lenet5", embedding: int = 32):
    """One "same" logit per pair, whatever `num_classes` (a pair dataset's two names)."""
    from pipeline import models  # the registry the tower comes from

    if tower == "siamese":
        raise ValueError("A Siamese network's tower must be a single-image architecture. Received: tower='siamese'")
    twin = models.tower(tower, tuple(inputs.shape[2:]), embedding, family)
    first, second = twin(inputs[:, 0]), twin(inputs[:, 1])
    difference = keras.layers.Subtract(name="difference")([first, second])
    nearness = -keras.ops.sum(keras.ops.square(difference), axis=-1, keepdims=True)
    # A scale that starts at 1 and stays non-negative: the logit only falls as the codes move apart.
    scale = keras.layers.Dense(
        1, kernel_initializer="ones", kernel_constraint=keras.constraints.NonNeg(), name="logits"
    )
    return scale(nearness)
