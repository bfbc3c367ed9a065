"""Sliding-window detection: `score_maps` (a classifier slid over whole images), `detections`
(boxes after non-maximum suppression) and `mean_average_precision`. The detect stage
(`stages=[..., detect]`) is `pipeline.detection.stage`."""

from pipeline.detection.boxes import (
    average_precision,
    detections,
    matches,
    mean_average_precision,
    score_maps,
    window_boxes,
)

__all__ = [
    "average_precision",
    "detections",
    "matches",
    "mean_average_precision",
    "score_maps",
    "window_boxes",
]
