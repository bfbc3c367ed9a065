"""Sanity checks of a robustness evaluation (Carlini et al. 2019, "On evaluating adversarial
robustness", and AutoAttack's own): each a number, its threshold and whether it passed. A failed
check says the robust accuracy next to it is probably too high (gradient masking, a weak attack,
a random model), not that the model is robust.

- `eps_rise`: robust accuracy must not rise with the budget (the largest rise along a curve);
- `unbounded`: with the whole data range as the budget, an attack must reach ~0%;
- `black_box`: the gradient-free Square must not break many examples the gradient attacks left
  standing (the share of the attacked examples it broke first): masking;
- `more_iterations`: APGD-CE with twice the steps and two restarts must not do worse (how much);
- `deterministic`: two inference passes give the same logits (the largest difference).

AutoAttack's own flags (its code's `checks.py`), beside them:
- `probabilities`: the attacked outputs are probability distributions, not logits (1 or 0);
- `zero_gradients`: the share of examples whose loss gradient (DLR, or cross-entropy under 3
  classes) is exactly zero at the example itself;
- `square_gain`: the robust accuracy (of all examples) Square took off after the white-box
  members, above 0.2 points in their code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields

import keras
import numpy as np

from pipeline.attacks.apgd import APGD
from pipeline.attacks.autoattack import AutoAttack, AutoAttackResult, declared_classes
from pipeline.attacks.base import class_indices
from pipeline.attacks.norms import LinfNorm
from pipeline.config import SanityConfig
from pipeline.inference import predicted_classes

log = logging.getLogger(__name__)

THRESHOLDS = {  # the defaults of the config's adversarial.sanity (its other key: how many examples)
    f.name: f.default for f in fields(SanityConfig) if f.name != "examples"
}


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    threshold: float
    meaning: str  # what a failure suggests

    @property
    def passed(self) -> bool:
        return bool(self.value <= self.threshold)

    def line(self) -> str:
        if self.passed:
            return f"sanity check {self.name} passed: {self.value:.4g} <= {self.threshold:g}"
        return f"sanity check {self.name} FAILED: {self.value:.4g} > {self.threshold:g}; {self.meaning}"


def eps_rise(curve: Mapping[float, float], threshold: float) -> Check:
    accuracies = [curve[eps] for eps in sorted(curve)]
    rise = max([b - a for a, b in zip(accuracies, accuracies[1:], strict=False)], default=0.0)
    return Check("eps_rise", float(max(rise, 0.0)), threshold, "robust accuracy rose with the budget")


def unbounded(attack: APGD, x, y, threshold: float) -> Check:
    """`attack` with a budget covering the whole [0, 1] range (L-inf 1, L2 sqrt(dimensions))."""
    eps = attack.eps
    attack.eps = 1.0 if attack.norm is LinfNorm else float(np.sqrt(np.prod(np.shape(x)[1:])))
    try:
        accuracy = _accuracy(attack, x, y)
    finally:
        attack.eps = eps
    return Check(
        "unbounded", accuracy, threshold, "an unbounded attack left examples standing: gradients may be masked"
    )


def black_box(result: AutoAttackResult, threshold: float) -> Check:
    share = result.broken_by.get("square", 0) / max(int(result.clean.sum()), 1)
    return Check("black_box", share, threshold, "Square broke examples the gradient attacks missed: gradient masking")


def more_iterations(attack: APGD, x, y, threshold: float) -> Check:
    """`attack` against itself with twice the steps and two restarts: how much weaker the longer run is."""
    longer = APGD(attack.model, attack.eps, attack.norm_name, 2 * attack.steps, attack.loss_name, restarts=2, seed=1)
    rise = _accuracy(longer, x, y) - _accuracy(attack, x, y)
    return Check("more_iterations", max(rise, 0.0), threshold, "more steps and restarts did worse")


def _accuracy(attack: APGD, x, y) -> float:
    return float(np.mean(predicted_classes(attack.model, np.asarray(attack(x, y))) == np.asarray(y)))


def deterministic(model: keras.Model, x, threshold: float) -> Check:
    first, second = (np.asarray(model(x, training=False), np.float32) for _ in range(2))
    return Check(
        "deterministic", float(np.max(np.abs(first - second))), threshold, "inference is random: attacks see noise"
    )


def probabilities(attack: AutoAttack, threshold: float) -> Check:
    """Whether the outputs the ensemble attacked (at its last `evaluate`) were probabilities."""
    value = float(getattr(attack, "outputs_probabilities", False))
    return Check("probabilities", value, threshold, "the model outputs probabilities: attacks see flat gradients")


def zero_gradients(model: keras.Model, x, y, threshold: float) -> Check:
    x, y = APGD.inputs(x, y)
    classes = declared_classes(model) or int(model(x[:1], training=False).shape[-1])  # a subclassed model: ask it
    probe = APGD(model, loss="dlr" if classes >= 3 else "ce")
    _, _, grad = probe.value_and_gradient(x, y, y)
    zero = np.all(np.reshape(np.asarray(grad), (len(grad), -1)) == 0, axis=1)
    return Check("zero_gradients", float(zero.mean()) if len(zero) else 0.0, threshold, "zero gradients: masking")


def square_gain(result: AutoAttackResult, threshold: float) -> Check:
    share = result.broken_by.get("square", 0) / max(len(result.robust), 1)
    return Check("square_gain", share, threshold, "Square beat the white-box attacks: the evaluation is unreliable")


def run_checks(
    attack: AutoAttack, x, y, result: AutoAttackResult, curve: Mapping[float, float], thresholds: Mapping[str, float]
) -> list[Check]:
    """Every check of the evaluation `attack` gave as `result`, on (x, y) (a few dozen examples
    suffice; the gradient checks reuse its APGD-CE), each logged, a failure as a warning."""
    limits, apgd = THRESHOLDS | dict(thresholds), attack.attacks["apgd-ce"]
    y = np.asarray(class_indices(y))
    checks = [
        eps_rise(curve, limits["eps_rise"]),
        unbounded(apgd, x, y, limits["unbounded"]),
        black_box(result, limits["black_box"]),
        more_iterations(apgd, x, y, limits["more_iterations"]),
        deterministic(attack.model, x, limits["deterministic"]),
        probabilities(attack, limits["probabilities"]),
        zero_gradients(attack.model, x, y, limits["zero_gradients"]),
        square_gain(result, limits["square_gain"]),
    ]
    for check in checks:
        (log.info if check.passed else log.warning)("adversarial: %s", check.line())
    return checks
