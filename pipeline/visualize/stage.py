"""The visualization stage: every configured method on the trained model and test images, as
figures and numbers in the run's MLflow record and the HTML report."""

from __future__ import annotations

import logging
import time

from pipeline.data import PHOTOS, read_folder, sample_images
from pipeline.models import ARCHITECTURES
from pipeline.stages import report
from pipeline.stages.context import StageContext
from pipeline.stages.inputs import class_names, labels_or_predictions, sample_test_split
from pipeline.visualize.methods import METHODS, Context, report_order

log = logging.getLogger(__name__)

STAGE = "visualize"


def attribute_sets(settings, methods: list[str], input_shape) -> tuple | None:
    """The images without and with the attribute, when deep feature interpolation will run."""
    s = settings.interpolation
    if "feature_interpolation" not in methods or not (s.source_dir and s.target_dir):
        return None
    return tuple(read_folder(d, input_shape, s.max_examples) for d in (s.source_dir, s.target_dir))


def run_stage(context: StageContext) -> dict[str, float]:
    """Run `visualize.methods` (all when null) and publish their figures and numbers. Returns no
    headline numbers: they are in MLflow and the report."""
    cfg, settings, begun = context.cfg, context.cfg.visualize, time.perf_counter()
    methods = list(settings.methods or report_order())
    count = max(settings.num_images, settings.embedding_examples if "embedding" in methods else 0)
    x, y, info = sample_test_split(cfg, count, settings.seed)
    rgb = len(info.input_shape) == 3 and info.input_shape[-1] == 3
    photos = sample_images(info.input_shape) if rgb and info.name != PHOTOS else {}  # photos: the test images
    code_layer = ARCHITECTURES[cfg.model.name].code_layer
    model = context.model
    y = labels_or_predictions(model, x, y)
    c = Context(model, x, y, class_names(info, model), settings, cfg.dataset.target, code_layer, photos)
    c.attribute_sets = attribute_sets(settings, methods, info.input_shape)
    panels = []
    for name in methods:
        reason = METHODS[name].skip_reason(c)
        if reason:
            log.info("visualize: skipping %s: %s", name, reason)
            continue
        started = time.perf_counter()
        drawn = METHODS[name].panels(c)
        report.save(context.run_dir, STAGE, drawn)  # saved and closed as they come: a figure open at a time
        panels += drawn
        log.info("visualize: %s in %.1f s", name, time.perf_counter() - started)
    report.publish(context.run_dir, STAGE, panels, c.metrics, c.series, warnings=c.warnings)
    log.info("visualize: the stage took %.1f s", time.perf_counter() - begun)
    return {}
