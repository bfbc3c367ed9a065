"""AutoAttack (Croce and Hein, ICML 2020): a cascade of diverse parameter-free attacks whose robust
accuracy is the per-example worst case. Each attack runs only on the examples every attack before
it left standing, and an example keeps the first adversarial point found for it.

Versions (the settings of each member in `VERSIONS`):
- `standard`, the published cascade minus FAB-T: APGD-CE (100 steps), APGD-T (DLR, 9 target
  classes, 100 steps), Square (5,000 queries, p_init 0.8 as in AutoAttack's code). FAB-T is left
  out: in the AutoAttack paper it rarely breaks an example APGD-CE and APGD-T left standing, it
  costs about as much as both (a Jacobian per target and step), and the minimal-perturbation
  search here (`MinimalPerturbation`, `DeepFool`) already answers "how close is the nearest
  failure".
- `fast`, ours: APGD-CE (50 steps), APGD-T (DLR, 3 targets, 50 steps), Square (1,000 queries).

Randomness is keyed per example by its pixels (`randomness.content_keys`), so an example's result
does not depend on the batch, order or subset it is evaluated in. With fewer than 4 classes the
targeted DLR loss is undefined: APGD-T descends the targeted cross-entropy instead (logged).

>>> result = AutoAttack(model, eps=0.3, version="fast").evaluate(x, y)
>>> result.robust_accuracy, result.interval(), result.broken_by
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import scipy.stats

from pipeline.attacks import randomness
from pipeline.attacks.apgd import APGD
from pipeline.attacks.base import Attack
from pipeline.attacks.square import Square
from pipeline.inference import predicted_classes
from pipeline.registry import Registry

log = logging.getLogger(__name__)

VERSIONS: Registry[dict[str, dict]] = Registry("adversarial.autoattack.version")
VERSIONS.register(
    "standard",
    {
        "apgd-ce": {"steps": 100, "restarts": 1},
        "apgd-t": {"steps": 100, "target_classes": 9, "restarts": 1},
        "square": {"queries": 5000, "p_init": 0.8},
    },
)
VERSIONS.register(
    "fast",
    {
        "apgd-ce": {"steps": 50, "restarts": 1},
        "apgd-t": {"steps": 50, "target_classes": 3, "restarts": 1},
        "square": {"queries": 1000, "p_init": 0.8},
    },
)
MEMBERS = tuple(VERSIONS["standard"])  # in the order they run; every version names them all


@dataclass
class AutoAttackResult:
    """What the cascade found on N examples."""

    x_adv: np.ndarray
    clean: np.ndarray  # (N,) bool: classified correctly before any attack
    robust: np.ndarray  # (N,) bool: still correct after every attack
    broken_by: dict[str, int]  # attack -> examples it broke first
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def robust_accuracy(self) -> float:
        return float(np.mean(self.robust)) if len(self.robust) else float("nan")

    @property
    def clean_accuracy(self) -> float:
        return float(np.mean(self.clean)) if len(self.clean) else float("nan")

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The Wilson score interval of the robust accuracy (binomial over the examples)."""
        ci = scipy.stats.binomtest(int(self.robust.sum()), len(self.robust)).proportion_ci(confidence, "wilson")
        return float(ci.low), float(ci.high)

    def metrics(self, prefix: str = "autoattack") -> dict[str, float]:
        low, high = self.interval()
        numbers = {
            "robust_accuracy": self.robust_accuracy,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy_low": low,
            "robust_accuracy_high": high,
            "examples": float(len(self.robust)),
        }
        numbers |= {f"broken_by_{name.replace('-', '_')}": float(n) for name, n in self.broken_by.items()}
        return {f"{prefix}_{key}": value for key, value in numbers.items()}


class AutoAttack:
    """`AutoAttack(model, eps, norm, version, seed)(x, y) -> x_adv`; `.evaluate(x, y)` also
    returns the counts (`AutoAttackResult`). `settings` overrides members' settings, e.g.
    `{"square": {"queries": 200}}`."""

    def __init__(
        self,
        model: keras.Model,
        eps: float,
        norm: str = "inf",
        version: str = "standard",
        seed: int = 0,
        batch_size: int = 256,
        settings: dict[str, dict] | None = None,
    ):
        self.model, self.eps, self.norm, self.version = model, float(eps), str(norm), version
        self.seed, self.batch_size = int(seed), int(batch_size)
        chosen = {name: dict(s) | dict((settings or {}).get(name) or {}) for name, s in VERSIONS[version].items()}
        self.attacks = self._members(chosen, int(model.output_shape[-1]))

    def _members(self, chosen: dict[str, dict], classes: int) -> dict[str, Attack]:
        targeted_loss, batch = ("dlr" if classes >= 4 else "ce"), self.batch_size
        if targeted_loss == "ce":
            log.info("autoattack: %d classes, so APGD-T descends the targeted cross-entropy (DLR needs 4)", classes)
        members = {
            "apgd-ce": APGD(self.model, self.eps, self.norm, loss="ce", batch_size=batch, **chosen["apgd-ce"]),
            "apgd-t": APGD(
                self.model, self.eps, self.norm, loss=targeted_loss, targeted=True, batch_size=batch, **chosen["apgd-t"]
            ),
        }
        members["square"] = Square(self.model, self.eps, self.norm, batch_size=batch, **chosen["square"])
        return members

    def member_keys(self, x: np.ndarray, name: str, content: np.ndarray | None = None) -> np.ndarray:
        """The per-example keys member `name` draws from (a run of it alone on these keys attacks
        each example exactly as the cascade does); `content`: x's `randomness.content_keys`
        under the ensemble's seed, if already made."""
        content = randomness.content_keys(self.seed, x) if content is None else content
        return np.asarray(randomness.derive(content, list(self.attacks).index(name)))

    def __call__(self, x, y) -> np.ndarray:
        return self.evaluate(x, y).x_adv

    def evaluate(self, x, y) -> AutoAttackResult:
        x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
        x_adv, seconds = x.copy(), {}
        robust = predicted_classes(self.model, x, self.batch_size) == y
        clean, broken_by, content = robust.copy(), {}, randomness.content_keys(self.seed, x)
        for name, attack in self.attacks.items():
            started, left = time.perf_counter(), np.flatnonzero(robust)
            if not len(left):
                broken_by[name] = 0
                continue
            keys = self.member_keys(x[left], name, content[left])
            found = np.asarray(attack(x[left], y[left], keys=keys))
            hit = predicted_classes(self.model, found, self.batch_size) != y[left]
            x_adv[left[hit]], robust[left[hit]] = found[hit], False
            broken_by[name], seconds[name] = int(hit.sum()), time.perf_counter() - started
            log.info("autoattack: %s broke %d of %d, %.1f s", name, hit.sum(), len(left), seconds[name])
        return AutoAttackResult(x_adv, clean, robust, broken_by, seconds)
