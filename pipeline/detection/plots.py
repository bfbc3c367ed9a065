"""The detection stage's figure: canvases with their true and found boxes."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from pipeline.drawing import grid, show


def detections_figure(
    images: np.ndarray, found: Sequence[tuple], truths: Sequence[tuple], window: int, stride: int, mean_ap: float
) -> plt.Figure:
    """Each canvas with its true boxes (green) and the kept detections (red, class and probability)."""
    cols = min(4, len(images))
    title = f"Sliding-window detection ({window}px windows, stride {stride}): mAP@0.5 {mean_ap:.3f}"
    fig, axes = grid(-(-len(images) // cols), cols, title)
    for axis, image, (boxes, scores, classes), (true_boxes, _) in zip(np.ravel(axes), images, found, truths):
        show(axis, image, "")
        for y0, x0, y1, x1 in true_boxes:
            axis.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="lime", lw=2))
        for (y0, x0, y1, x1), score, label in zip(boxes, scores, classes):
            axis.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="red", lw=1))
            axis.text(x0, y0 - 1, f"{label} {score:.2f}", color="red", fontsize=7, va="bottom")
    fig.tight_layout()
    return fig
