"""Sliding-window detection (`stages=[..., detect]`): `score_maps`, `detections`,
`mean_average_precision`, and the stage's `run_stage`."""

from pipeline.detection.boxes import (
    average_precision,
    detections,
    matches,
    mean_average_precision,
    score_maps,
    window_boxes,
)
from pipeline.detection.stage import CANVASES, run_stage

__all__ = [
    "CANVASES",
    "average_precision",
    "detections",
    "matches",
    "mean_average_precision",
    "run_stage",
    "score_maps",
    "window_boxes",
]
