"""The adversarial stage: robustness curves (FGSM, PGD), the AutoAttack worst case with its sanity
checks, the distribution of the smallest perturbations that flip a prediction (bisection,
DeepFool), galleries, a targeted example and saliency before/after, into the run's MLflow record
and the HTML report."""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import keras
import numpy as np
from omegaconf import DictConfig

from pipeline.attacks import plots
from pipeline.attacks.autoattack_report import worst_case
from pipeline.attacks.deepfool import DeepFool
from pipeline.attacks.evaluate import robust_accuracy
from pipeline.attacks.fgsm import FGSM
from pipeline.attacks.gradient_step import GradientStep
from pipeline.attacks.minimal import MinimalPerturbation, MinimalResult
from pipeline.attacks.pgd import PGD
from pipeline.drawing import Panel
from pipeline.inference import predicted_classes, probabilities
from pipeline.stages import report
from pipeline.stages.context import StageContext
from pipeline.stages.inputs import class_names, labels_or_predictions, sample_test_split
from pipeline.visualize import saliency

log = logging.getLogger(__name__)

STAGE = "adversarial"


@dataclass
class Examples:
    model: keras.Model
    x: np.ndarray
    y: np.ndarray
    names: list[str]

    def captions(self, x: np.ndarray, prefix: str) -> list[str]:
        return [f"{prefix}: {self.names[p.argmax()]} ({p.max():.2f})" for p in probabilities(self.model, x)]

    @functools.cached_property
    def correct(self) -> np.ndarray:
        """Indices of the correctly classified examples."""
        return np.flatnonzero(predicted_classes(self.model, self.x) == self.y)


@dataclass(frozen=True)
class ClosestFailures:
    """Of the first `minimal_examples`: the minimal search's result and DeepFool's images."""

    minimal: MinimalResult
    deepfool: np.ndarray


def closest_failures(e: Examples, s: DictConfig) -> ClosestFailures:
    x, y = e.x[: s.minimal_examples], e.y[: s.minimal_examples]
    return ClosestFailures(
        MinimalPerturbation(e.model, max_eps=s.max_eps, steps=s.pgd_steps).search(x, y),
        np.asarray(DeepFool(e.model, steps=s.deepfool_steps)(x, y)),
    )


def curves_panel(e: Examples, s: DictConfig, metrics: dict, series: dict) -> Panel:
    """Robust accuracy per budget, as metrics and as one series per attack (MLflow steps are
    integers: the budget in thousandths)."""
    curves = {
        "FGSM": robust_accuracy(e.model, FGSM, e.x, e.y, s.epsilons),
        f"PGD-{s.pgd_steps}": robust_accuracy(e.model, PGD, e.x, e.y, s.epsilons, steps=s.pgd_steps, seed=s.seed),
    }
    for name, curve in curves.items():
        key = name.split("-")[0].lower()
        series[f"robust_accuracy_{key}"] = {int(round(eps * 1000)): accuracy for eps, accuracy in curve.items()}
        metrics |= {f"robust_accuracy_{key}_eps_{eps:g}": accuracy for eps, accuracy in curve.items()}
    return Panel(
        "robustness",
        plots.robustness_figure(curves, f"Robustness of {e.model.name} ({len(e.x)} test images)"),
        "Accuracy on test images attacked within each L-inf budget: the faster it falls, the less robust the model.",
    )


def sizes_panel(e: Examples, s: DictConfig, found: ClosestFailures, metrics: dict) -> Panel:
    x = e.x[: s.minimal_examples]
    budgets, fooled = found.minimal.budget, found.deepfool
    flipped = predicted_classes(e.model, fooled) != predicted_classes(e.model, x)
    l2 = np.where(flipped, np.linalg.norm((fooled - x).reshape(len(x), -1), axis=1), np.inf)
    for name, values in (("minimal_linf", budgets[budgets > 0]), ("deepfool_l2", l2)):
        finite = values[np.isfinite(values)]
        metrics[f"median_{name}"] = float(np.median(finite)) if len(finite) else float("nan")
    metrics["minimal_not_found_share"] = float(np.mean(np.isinf(budgets)))
    return Panel(
        "minimal_perturbations",
        plots.sizes_figure(budgets[budgets > 0], l2),
        "The closest image on which the net fails: per example, the "
        "smallest L-inf budget that flips it, and DeepFool's L2 distance.",
    )


def gallery_panels(e: Examples, s: DictConfig, found: ClosestFailures) -> list[Panel]:
    """FGSM and PGD at the gallery budget, DeepFool and the minimal search."""
    pool = min(s.minimal_examples, len(e.x))
    correct = [i for i in e.correct if i < pool]  # correctly classified first, then the others
    chosen = (correct + [i for i in range(pool) if i not in set(correct)])[: max(s.gallery, 1)]
    x, y = e.x[chosen], e.y[chosen]
    attacked = {
        "fgsm": np.asarray(FGSM(e.model, eps=s.gallery_eps)(x, y)),
        "pgd": np.asarray(PGD(e.model, eps=s.gallery_eps, steps=max(s.pgd_steps, 10), seed=s.seed)(x, y)),
        "deepfool": found.deepfool[chosen],
        "minimal": found.minimal.x_adv[chosen],
    }
    panels = []
    for name in attacked:
        budget = f" eps {s.gallery_eps:g}" if name in ("fgsm", "pgd") else ""
        panels.append(
            Panel(
                f"gallery_{name}",
                plots.gallery_figure(
                    x,
                    attacked[name],
                    e.captions(x, "clean"),
                    e.captions(attacked[name], name),
                    f"{name.upper()}{budget}: image, perturbation, adversarial",
                ),
                f"{name.upper()}: the clean image and prediction, the (amplified) "
                "perturbation, the attacked image and its prediction.",
            )
        )
    clean_maps, adv_maps = saliency(e.model, x), saliency(e.model, attacked["pgd"])
    panels.append(
        Panel(
            "saliency_clean_vs_adversarial",
            plots.saliency_pairs_figure(
                x, attacked["pgd"], clean_maps, adv_maps, e.captions(x, "clean"), e.captions(attacked["pgd"], "pgd")
            ),
            "Where the gradient points before and after the PGD "
            "attack: a small change of the image moves the evidence.",
        )
    )
    return panels


LECTURE_STEP = 0.005  # the lecture's x + 0.005 * dL/dx ("pig" -> "airliner")


def targeted_panel(e: Examples, s: DictConfig) -> Panel | None:
    k = len(e.names)
    source, target = s.targeted or ((3, 8) if k > 8 else (0, 1 % k))
    candidates = [i for i in e.correct if source < 0 or e.y[i] == source]  # -1: any class
    if not candidates:
        log.info("adversarial: no correctly classified test example of class %s for the targeted attack", source)
        return None
    x, goal = e.x[candidates[:1]], np.array([target])
    attack = PGD(e.model, steps=s.targeted_steps, targeted=True, seed=s.seed)
    for eps in (s.gallery_eps, 2 * s.gallery_eps, s.max_eps):  # the smallest of these budgets that reaches the target
        attack.eps = eps
        x_adv = np.asarray(attack(x, goal))
        if predicted_classes(e.model, x_adv)[0] == target:
            break
    x_step, steps = lecture_steps(e.model, x, goal, s.targeted_steps)
    clean = e.captions(x, "clean")
    title = f"Targeted, to {e.names[target]}: x - {LECTURE_STEP} dL/dx x{steps} (top) and PGD, L-inf {eps:g} (bottom)"
    return Panel(
        "targeted",
        plots.gallery_figure(
            np.concatenate([x, x]),
            np.concatenate([x_step, x_adv]),
            clean * 2,
            e.captions(x_step, f"{steps} steps") + e.captions(x_adv, "PGD"),
            title,
        ),
        f"The lecture's gradient step x - {LECTURE_STEP} dL(target)/dx, repeated until the network says "
        f"{e.names[target]} (at most {s.targeted_steps} times), and PGD descending the same loss within the smallest "
        "of a few L-inf budgets.",
    )


def lecture_steps(model: keras.Model, x: np.ndarray, goal: np.ndarray, most: int = 50) -> tuple[np.ndarray, int]:
    """x - 0.005 * dL(goal)/dx, repeated until the prediction is `goal` (or `most` times)."""
    step, count = GradientStep(model, step_size=LECTURE_STEP, targeted=True), 0
    while count < most and (count == 0 or predicted_classes(model, x)[0] != goal[0]):
        x, count = np.asarray(step(x, goal)), count + 1
    return x, count


def run_stage(context: StageContext) -> dict[str, float]:
    """Attack the trained model on test examples and publish the robustness report. Returns its
    numbers (robust accuracy per attack and budget, the medians of the smallest perturbations)."""
    cfg, model = context.cfg, context.model
    if cfg.dataset.target != "label" or len(model.input_shape) != 4 or len(model.output_shape) != 2:
        log.info("adversarial: skipped, it attacks image classifiers (this model outputs %s)", model.output_shape)
        return {}
    s = cfg.adversarial
    x, y, info = sample_test_split(cfg, max(s.num_examples, s.minimal_examples, s.autoattack.num_examples), s.seed)
    y = labels_or_predictions(model, x, y)
    examples, metrics, series, warnings = Examples(model, x, y, class_names(info, model)), {}, {}, []
    panels = [timed("robustness curves", curves_panel, examples, s, metrics, series)]
    if s.autoattack.version:
        curve = {step / 1000: accuracy for step, accuracy in series["robust_accuracy_pgd"].items()}
        worst = timed("AutoAttack and its sanity checks", worst_case, model, x, y, cfg, curve)
        panels, warnings = panels + [worst.panel], worst.warnings
        metrics |= worst.metrics
    found = timed("minimal perturbations (search, DeepFool)", closest_failures, examples, s)
    panels.append(sizes_panel(examples, s, found, metrics))
    panels += timed("galleries", gallery_panels, examples, s, found)
    panels += [p for p in [timed("targeted example", targeted_panel, examples, s)] if p]
    report.publish(context.run_dir, STAGE, panels, metrics, series, warnings)
    return metrics


def timed(what: str, make, *args):
    """`make(*args)`, its time logged (the stage takes a while on big models)."""
    started = time.perf_counter()
    result = make(*args)
    log.info("adversarial: %s in %.1f s", what, time.perf_counter() - started)
    return result
