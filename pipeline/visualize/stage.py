"""The visualization stage: every configured method on the trained model and test images, as
figures and numbers in the run's MLflow record and the HTML report."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import keras
from omegaconf import DictConfig

from pipeline import report, trained
from pipeline.data import sample_images
from pipeline.visualize._common import kernel_layers
from pipeline.visualize.panels import CLASSIFIER_METHODS, PANELS, Context

log = logging.getLogger(__name__)

STAGE = "visualize"
# Methods that look at conv layers (the chosen layers are found after convolutions).
NEEDS_CONV = {"filters", "feature_maps", "activation_maximization", "grad_cam", "deep_dream", "receptive_field", "equivariance"}


def skip_reason(method: str, model: keras.Model, target: str) -> str | None:
    """Why a method does not apply to this model, or None when it does."""
    if len(model.input_shape) != 4:
        return "it needs image inputs (H, W, C)"
    if method in CLASSIFIER_METHODS and target != "label":
        return "it explains class decisions and this model is trained on " + target + "s"
    if method == "autoencoder" and target != "image":
        return "it is for autoencoders"
    if method in NEEDS_CONV and not kernel_layers(model):
        return "the model has no 2D convolution"
    return None


def run(cfg: DictConfig, run_dir: Path, mlflow_run, model: keras.Model) -> dict[str, float]:
    """Run `cfg.visualize.methods` and publish their figures and numbers. Returns the numbers."""
    settings = cfg.visualize
    count = max(settings.num_images, settings.embedding_examples if "embedding" in settings.methods else 0)
    x, y, info = trained.test_examples(cfg, count, settings.seed)
    photos = sample_images(info.input_shape) if len(info.input_shape) == 3 and info.input_shape[-1] == 3 else {}
    context = Context(model, x, y, list(info.class_names), settings, photos)
    panels = []
    for method in settings.methods:
        reason = skip_reason(method, model, cfg.dataset.target)
        if reason:
            log.info("visualize: skipping %s: %s", method, reason)
            continue
        started = time.perf_counter()
        panels += PANELS[method](context)
        log.info("visualize: %s in %.1f s", method, time.perf_counter() - started)
    report.publish(run_dir, STAGE, panels, context.metrics, mlflow_run)
    return context.metrics
