"""The Siamese net's test numbers: ROC AUCs and the ROC figure over pairs of unseen classes."""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np

from pipeline.drawing import Panel
from pipeline.inference import outputs_and_targets
from pipeline.training import plots

# metric -> what scores the pairs
PAIR_SCORES = {"test_roc_auc": "the Siamese net", "test_roc_auc_pixels": "pixels' L2 distance"}


class PairScores(NamedTuple):
    same: np.ndarray  # 1 where a pair shows one class
    scores: dict[str, np.ndarray]  # PAIR_SCORES' labels -> scores meant to be higher where same


def pair_scores(model: keras.Model, test) -> PairScores:
    """Over the test pairs (classes unseen in training): the net's "same class?" logit and the
    raw pixels' negative L2 distance, the floor a learned similarity should beat."""
    pixels = np.concatenate([keras.ops.convert_to_numpy(x) for x, _ in test])
    logits, same = outputs_and_targets(model, test)
    distance = np.sqrt(np.square(pixels[:, 0] - pixels[:, 1]).reshape(len(pixels), -1).sum(axis=1))
    return PairScores(same, dict(zip(PAIR_SCORES.values(), (logits[:, 0], -distance), strict=True)))


def pair_aucs(pairs: PairScores) -> dict[str, float]:
    """`PAIR_SCORES`' ROC AUCs: `test_roc_auc` (the net's) and `test_roc_auc_pixels`."""
    from sklearn.metrics import roc_auc_score

    return {metric: float(roc_auc_score(pairs.same, pairs.scores[label])) for metric, label in PAIR_SCORES.items()}


def roc_panel(pairs: PairScores) -> Panel:
    return Panel(
        "roc_curve",
        plots.roc_curves(pairs.same, pairs.scores, "Test pairs of classes never seen in training"),
        "How well the 'same class?' score separates the test pairs, all of classes the net never "
        "trained on, next to the raw pixels' distance: the area under the curve is 1 for a perfect "
        "ranking, 0.5 for chance.",
    )
