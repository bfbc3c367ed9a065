"""AutoAttack (Croce and Hein, ICML 2020): a cascade of diverse parameter-free attacks whose robust
accuracy is the per-example worst case. Each attack runs only on the examples every attack before
it left standing, and an example keeps the first adversarial point found for it.

Versions (the settings of each member in `VERSIONS`):
- `standard`, the published cascade member for member, with the settings of the authors' code
  (`pyautoattack`; RobustBench's numbers come from it): APGD-CE (100 steps), APGD-T (targeted DLR,
  9 target classes, 100 steps each), FAB-T (9 targets, 100 steps each), Square (5,000 queries,
  p_init 0.8, its schedule not rescaled to the budget). Where the members differ from the
  authors' code on purpose, their modules say how (`apgd`, `fab`, `square`).
- `fast`, ours: APGD-CE (50 steps), APGD-T (3 targets, 50 steps), Square (1,000 queries); no
  FAB-T, which rarely breaks an example the APGDs left standing and costs about as much as APGD-T.

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
from pipeline.attacks.base import Attack, class_indices
from pipeline.attacks.fab import FAB
from pipeline.attacks.square import Square
from pipeline.inference import batched, predicted_classes
from pipeline.logits import looks_like_probabilities, pre_softmax
from pipeline.registry import Registry

log = logging.getLogger(__name__)

VERSIONS: Registry[dict[str, dict | None]] = Registry("adversarial.autoattack.version")
VERSIONS.register(
    "standard",
    {
        "apgd-ce": {"steps": 100, "restarts": 1},
        "apgd-t": {"steps": 100, "target_classes": 9, "restarts": 1},
        "fab-t": {"steps": 100, "target_classes": 9, "restarts": 1},
        "square": {"queries": 5000, "p_init": 0.8, "rescale": False},
    },
)
VERSIONS.register(
    "fast",
    {
        "apgd-ce": {"steps": 50, "restarts": 1},
        "apgd-t": {"steps": 50, "target_classes": 3, "restarts": 1},
        "fab-t": None,  # left out
        "square": {"queries": 1000, "p_init": 0.8},
    },
)
MEMBERS = tuple(VERSIONS["standard"])  # in the order they run; every version names them all (None: left out)


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
    `{"square": {"queries": 200}}`.

    Any Keras classifier: Sequential, Functional, nested or subclassed; labels as class indices
    or one-hot rows. A model whose output is a softmax it exposes (`pipeline.logits`) is
    attacked on its pre-softmax logits, and the log says so; one that outputs probabilities
    otherwise is attacked as it is, with a warning that the result may overstate robustness.
    """

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
        self.eps, self.norm, self.version = float(eps), str(norm), version
        self.seed, self.batch_size = int(seed), int(batch_size)
        self.chosen = _chosen(version, settings or {})
        logits = pre_softmax(model)
        if logits is not None:
            log.info("autoattack: %s ends in a softmax: its pre-softmax logits are attacked", model.name)
        self.model, self.took_logits = logits or model, logits is not None
        self.outputs_probabilities: bool | None = None  # whether the attacked outputs were (evaluate)
        classes = declared_classes(self.model)
        self._attacks = None if classes is None else self._members(classes)

    @property
    def attacks(self) -> dict[str, Attack]:
        """The members, in the order they run (made at the first `evaluate` for a model that does
        not declare its output shape, a subclassed one)."""
        if self._attacks is None:
            raise RuntimeError("a subclassed model's members are made at the first evaluate(x, y)")
        return self._attacks

    def _members(self, classes: int) -> dict[str, Attack]:
        targeted_loss = "dlr" if classes >= 4 else "ce"
        if targeted_loss == "ce":
            log.info("autoattack: %d classes, so APGD-T descends the targeted cross-entropy (DLR needs 4)", classes)
        common = {"model": self.model, "eps": self.eps, "norm": self.norm, "batch_size": self.batch_size}
        make = {
            "apgd-ce": lambda **s: APGD(**common, loss="ce", **s),
            "apgd-t": lambda **s: APGD(**common, loss=targeted_loss, targeted=True, **s),
            "fab-t": lambda **s: FAB(**common, **s),
            "square": lambda **s: Square(**common, **s),
        }
        return {name: make[name](**chosen) for name, chosen in self.chosen.items() if chosen is not None}

    def member_keys(self, x: np.ndarray, name: str, content: np.ndarray | None = None) -> np.ndarray:
        """The per-example keys member `name` draws from (a run of it alone on these keys attacks
        each example exactly as the cascade does); `content`: x's `randomness.content_keys`
        under the ensemble's seed, if already made."""
        content = randomness.content_keys(self.seed, x) if content is None else content
        return np.asarray(randomness.derive(content, MEMBERS.index(name)))

    def __call__(self, x, y) -> np.ndarray:
        return self.evaluate(x, y).x_adv

    def evaluate(self, x, y) -> AutoAttackResult:
        x = np.asarray(x, np.float32)
        outputs = batched(lambda part: self.model(part, training=False), x, self.batch_size)
        y = np.asarray(class_indices(y, outputs.shape[-1]), np.int64)
        self.outputs_probabilities = looks_like_probabilities(outputs)
        if self.outputs_probabilities:
            log.warning(
                "autoattack: the model outputs probabilities and exposes no pre-softmax logits: attacks on them "
                "see flat gradients, so the robust accuracy may overstate robustness"
            )
        if self._attacks is None:
            self._attacks = self._members(int(outputs.shape[-1]))
        robust = np.argmax(outputs, axis=-1) == y
        x_adv, clean, broken_by, seconds = x.copy(), robust.copy(), {}, {}
        content = randomness.content_keys(self.seed, x)
        for name, attack in self.attacks.items():
            started, left = time.perf_counter(), np.flatnonzero(robust)
            if len(left):
                found = np.asarray(attack(x[left], y[left], keys=self.member_keys(x[left], name, content[left])))
                hit = predicted_classes(self.model, found, self.batch_size) != y[left]
                x_adv[left[hit]], robust[left[hit]] = found[hit], False
            broken_by[name] = int(hit.sum()) if len(left) else 0
            seconds[name] = time.perf_counter() - started
            log.info("autoattack: %s broke %d of %d, %.1f s", name, broken_by[name], len(left), seconds[name])
        return AutoAttackResult(x_adv, clean, robust, broken_by, seconds)


def _chosen(version: str, settings: dict[str, dict]) -> dict[str, dict | None]:
    """Each member's settings: the version's, updated by `settings`; None for a member the
    version leaves out (settings for it are ignored, and the log says so)."""
    chosen = {}
    for name, base in VERSIONS[version].items():
        override = dict(settings.get(name) or {})
        if base is None and override:
            log.info("autoattack: settings for %s ignored: the %s version leaves it out", name, version)
        chosen[name] = None if base is None else dict(base) | override
    return chosen


def declared_classes(model: keras.Model) -> int | None:
    """The class count a model declares (its output shape), None if it declares none (subclassed)."""
    try:
        return int(model.output_shape[-1])
    except (AttributeError, ValueError, RuntimeError, TypeError):
        return None
