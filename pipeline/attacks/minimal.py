"""The closest image on which the net fails (the lecture's question): per example, the smallest
budget at which an attack flips the prediction, found by bisection on eps. A search over an
attack's budget, not an attack itself."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from pipeline.attacks.base import Attack
from pipeline.attacks.pgd import PGD
from pipeline.inference import predicted_classes


@dataclass(frozen=True)
class MinimalResult:
    """x_adv: the adversarial image at `budget`; budget: the smallest eps found that flips (inf:
    none up to max_eps; 0: already misclassified); below: the largest eps tried that did not."""

    x_adv: np.ndarray
    budget: np.ndarray
    below: np.ndarray


class MinimalPerturbation:
    """Bisection on `attack`'s budget between 0 and `max_eps` until the bracket is below
    `tolerance`. Default attack: L-inf PGD, 10 steps, no random start (deterministic, so that the
    bracket means what it says). `search(x, y)` returns a `MinimalResult`; calling it returns the
    adversarial images, as an attack's call does.

    Raises:
        ValueError: an attack without a budget to search (DeepFool finds its own size).
    """

    def __init__(
        self,
        model: keras.Model,
        attack: type[Attack] = PGD,
        max_eps: float = 0.5,
        tolerance: float = 1e-3,
        **attack_kwargs,
    ):
        if attack.budget_name is None:
            raise ValueError(
                f"Invalid value for argument `attack`. Expected an attack with a budget. "
                f"Received: attack={attack.__name__}"
            )
        if attack is PGD:
            attack_kwargs = {"random_start": False, "steps": 10, **attack_kwargs}
        self.model, self.attack = model, attack(model, **attack_kwargs)
        self.max_eps, self.tolerance = float(max_eps), float(tolerance)

    def _flips(self, x: np.ndarray, y: np.ndarray, budget: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        setattr(self.attack, self.attack.budget_name, budget)
        x_adv = np.asarray(self.attack(x, y))
        return predicted_classes(self.model, x_adv) != y, x_adv

    def search(self, x, y) -> MinimalResult:
        x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
        wrong = predicted_classes(self.model, x) != y
        low, high = np.zeros(len(x), np.float32), np.full(len(x), self.max_eps, np.float32)
        flipped, best = self._flips(x, y, high)
        best = np.where(wrong.reshape(-1, *[1] * (x.ndim - 1)), x, best)
        while np.any((high - low)[flipped & ~wrong] > self.tolerance):
            middle = (low + high) / 2
            now, x_mid = self._flips(x, y, middle)
            better = now & flipped & ~wrong
            best[better] = x_mid[better]
            high = np.where(better, middle, high)
            low = np.where(now, low, middle)
        budget = np.where(wrong, 0.0, np.where(flipped, high, np.inf)).astype(np.float32)
        return MinimalResult(best, budget, np.where(wrong, 0.0, low).astype(np.float32))

    def __call__(self, x, y) -> np.ndarray:
        return self.search(x, y).x_adv
