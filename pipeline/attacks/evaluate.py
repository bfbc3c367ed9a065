"""Robust accuracy: accuracy on adversarial examples, per attack budget."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from pipeline.attacks.base import Attack
from pipeline.inference import predicted_classes


def accuracy(model: keras.Model, x, y, batch_size: int = 256) -> float:
    """The share of `x` whose predicted class is `y`, predicted `batch_size` examples at a time."""
    return float(np.mean(predicted_classes(model, np.asarray(x, np.float32), batch_size) == np.asarray(y)))


def robust_accuracy(
    model: keras.Model, attack_cls: type[Attack], x, y, epsilons: Sequence[float], batch_size: int = 256, **kwargs
) -> dict[float, float]:
    """epsilon -> accuracy of `model` on `attack_cls(model, <budget>=epsilon, **kwargs)(x, y)`,
    where <budget> is the attack's `budget_name` (eps; step_size for GradientStep). One attack
    object serves every epsilon (the budget is an input of its compiled graph)."""
    budget = attack_cls.budget_name
    if budget is None:
        raise ValueError(f"{attack_cls.__name__} has no budget to sweep; robust_accuracy needs one (e.g. PGD's eps).")
    x, y = np.asarray(x, np.float32), np.asarray(y)
    first = float(epsilons[0]) if len(epsilons) else 0.0
    attack = attack_cls(model, **{budget: first}, batch_size=batch_size, **kwargs)
    results = {}
    for eps in epsilons:
        setattr(attack, budget, float(eps))
        results[float(eps)] = accuracy(model, attack(x, y), y, batch_size)
    return results
