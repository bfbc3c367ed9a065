"""A sweep's summary figure in its parent run: one metric of every finished job against one swept
setting, one line per value of another (`sweep_plot` in the config). The inductive-bias
experiment draws test accuracy against training examples, one line per model, each labelled
with its parameter count."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

import pipeline.drawing  # noqa: F401 - the non-interactive backend

log = logging.getLogger("pipeline")

FILE = "sweep_plot.png"


def lines(children: Sequence[Any], spec: Mapping[str, Any]) -> dict[str, dict[float, list[float]]]:
    """{label: {x: [y of every run at x]}} over the FINISHED runs that have the parameter `spec.x`
    and the metric `spec.y` (runs that differ in anything else, such as the seed, are repeats); a
    line per value of the parameter `spec.lines` (one line when null), its label naming the runs'
    parameter count when they logged one."""
    found: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in children:
        params, metrics = run.data.params, run.data.metrics
        if run.info.status != "FINISHED" or spec["x"] not in params or spec["y"] not in metrics:
            continue
        label = params.get(spec["lines"], "?") if spec["lines"] else spec["y"]
        if "parameters" in metrics:
            label = f"{label} ({int(metrics['parameters']):,} parameters)"
        found[label][float(params[spec["x"]])].append(metrics[spec["y"]])
    return {label: dict(sorted(points.items())) for label, points in sorted(found.items())}


def figure(found: Mapping[str, Mapping[float, Sequence[float]]], spec: Mapping[str, Any]) -> plt.Figure:
    """A line per label through the mean at each x; with repeats, a bar of one standard deviation."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    repeats = max(len(ys) for points in found.values() for ys in points.values())
    for label, points in found.items():
        x = list(points)
        mean, spread = [np.mean(ys) for ys in points.values()], [np.std(ys) for ys in points.values()]
        ax.errorbar(x, mean, yerr=spread if repeats > 1 else None, marker="o", capsize=3, label=label)
    if spec["log_x"]:
        ax.set_xscale("log")
    note = f" (mean of {repeats} runs, bars: one s.d.)" if repeats > 1 else ""
    ax.set(xlabel=spec["x"], ylabel=spec["y"] + note, title=spec["title"] or f"{spec['y']} against {spec['x']}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def publish(client: Any, parent: str, children: Sequence[Any], spec: Mapping[str, Any], folder: Path) -> Path | None:
    """Draw the figure into `folder` and log it to the `parent` run; None when no run has a point."""
    found = lines(children, spec)
    if not found:
        log.warning("sweep_plot: no finished job has parameter %s and metric %s; no figure", spec["x"], spec["y"])
        return None
    path = Path(folder) / FILE
    fig = figure(found, spec)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    client.log_artifact(parent, str(path))
    log.info("sweep_plot: %s, in the parent run", path)
    return path
