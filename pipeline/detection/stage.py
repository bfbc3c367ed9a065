"""The detection stage: the trained window classifier slid over whole canvases of unseen digits,
its boxes after non-maximum suppression scored by mean average precision at IoU 0.5, and a
figure of found and true boxes. Datasets that have canvases with boxes are in `CANVASES`; on
any other dataset the stage says so and does nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.data import CANVAS_BACKGROUND, canvases
from pipeline.detection import boxes, plots
from pipeline.drawing import Panel
from pipeline.registry import Registry
from pipeline.stages import report
from pipeline.stages.context import StageContext

log = logging.getLogger(__name__)

STAGE = "detect"


@dataclass(frozen=True)
class CanvasSet:
    """draw(split, count, seed, **options) -> [(image, boxes, classes)]; background: the class
    number of windows that show no object."""

    draw: Callable[..., list[tuple]]
    background: int


CANVASES: Registry[CanvasSet] = Registry("dataset.name (with canvases)")
CANVASES.register("digit_canvas", CanvasSet(canvases, CANVAS_BACKGROUND))


def run_stage(context: StageContext) -> dict[str, float]:
    """Detect on `detect.canvases` test canvases; returns {"detection_map50": mAP}."""
    cfg, settings, begun = context.cfg, context.cfg.detect, time.perf_counter()
    if cfg.dataset.name not in CANVASES:
        log.info("detect: skipped: %s has no canvases with boxes (known: %s)", cfg.dataset.name, ", ".join(CANVASES))
        return {}
    source = CANVASES[cfg.dataset.name]
    drawn = source.draw("test", settings.canvases, settings.seed, **dict(cfg.dataset.options))
    images = np.stack([image for image, _, _ in drawn])
    maps, window, stride = boxes.score_maps(context.model, images)
    found = [boxes.detections(m, window, stride, source.background, settings.threshold, settings.nms_iou) for m in maps]
    truths = [(true_boxes, classes) for _, true_boxes, classes in drawn]
    mean_ap, per_class = boxes.mean_average_precision(found, truths, settings.match_iou)
    metrics = {"detection_map50": mean_ap, **{f"detection_ap50_class_{c}": ap for c, ap in per_class.items()}}
    panel = Panel(
        "detections",
        plots.detections_figure(images[: settings.shown], found, truths, window, stride, mean_ap),
        f"The classifier slid over {len(images)} canvases of digits it never trained on ({window}-pixel windows, "
        f"stride {stride}): green the true boxes, red the boxes kept after non-maximum suppression with their "
        f"class and probability; mAP at IoU 0.5 over all canvases {mean_ap:.3f}.",
    )
    report.publish(context.run_dir, STAGE, [panel], metrics)
    log.info("detect: mAP@0.5 %.3f on %d canvases in %.1f s", mean_ap, len(images), time.perf_counter() - begun)
    return {"detection_map50": mean_ap}
