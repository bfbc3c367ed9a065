"""The adversarial stage's worst case: the AutoAttack ensemble at the dataset's standard budget
(or `adversarial.autoattack.eps`), its per-attack counts and 95% interval, and the sanity checks
that say whether to believe it: metrics, tags on the run, warnings in the log and the report."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
from omegaconf import DictConfig

from pipeline import tracking
from pipeline.attacks import plots
from pipeline.attacks.autoattack import AutoAttack
from pipeline.attacks.sanity import THRESHOLDS, run_checks
from pipeline.drawing import Panel


@dataclass
class WorstCase:
    panel: Panel
    metrics: dict[str, float]
    warnings: list[str] = field(default_factory=list)


def budget(cfg: DictConfig) -> float:
    """The ensemble's budget: adversarial.autoattack.eps, else the dataset's standard one."""
    a = cfg.adversarial.autoattack
    return float(a.eps if a.eps is not None else cfg.dataset.budgets[a.norm])


def worst_case(
    model: keras.Model, x: np.ndarray, y: np.ndarray, cfg: DictConfig, curve: dict[float, float]
) -> WorstCase:
    """Run the ensemble on the first `num_examples` of (x, y) and the sanity checks; `curve` is
    the stage's PGD robust accuracy per budget (the monotonicity check reads it)."""
    a, s, eps = cfg.adversarial.autoattack, cfg.adversarial.sanity, budget(cfg)
    x, y = x[: a.num_examples], y[: a.num_examples]
    attack = AutoAttack(model, eps, a.norm, a.version, seed=cfg.adversarial.seed, settings=a.settings)
    result = attack.evaluate(x, y)
    thresholds = {k: s[k] for k in THRESHOLDS}
    checks = run_checks(attack, x[: s.examples], y[: s.examples], result, curve, thresholds)
    failed = [c.name for c in checks if not c.passed]
    low, high = result.interval()
    tracking.set_tags({"autoattack": f"{a.version} L{a.norm} eps {eps:g}", "sanity_failed": ",".join(failed) or "none"})
    metrics = result.metrics() | {"autoattack_eps": eps} | {f"sanity_{c.name}": c.value for c in checks}
    counts = (
        {"wrong before attack": int((~result.clean).sum())} | result.broken_by | {"robust": int(result.robust.sum())}
    )
    title = (
        f"AutoAttack ({a.version}) L{a.norm} eps {eps:g}: robust accuracy {result.robust_accuracy:.3f} "
        f"[{low:.3f}, {high:.3f}] on {len(y)}"
    )
    figure = plots.autoattack_figure(
        counts,
        [(c.name, c.passed, f"{c.value:.3g} {'<=' if c.passed else '>'} {c.threshold:g}") for c in checks],
        title,
    )
    caption = (
        "Each test example's fate under the ensemble: each attack runs only on the examples still standing, so the "
        "robust ones survived every attack (the per-example worst case; 95% Wilson interval in brackets). "
        "Right: checks that the number is not an artefact (a FAIL means distrust it)."
    )
    return WorstCase(Panel("autoattack", figure, caption), metrics, [c.line() for c in checks if not c.passed])
