"""The predict stage: the model on `predict.input` (a folder of images or a `.npy` file), its top
classes per image in `predictions.csv` and a contact sheet of the images with their top class
over a Grad-CAM map, both logged to the run. Files that cannot be read are listed in the log and
the CSV; the others go on."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import keras
import numpy as np

from pipeline.drawing import Panel, grid, show
from pipeline.prediction import read_inputs, top_classes
from pipeline.stages import report
from pipeline.stages.context import StageContext
from pipeline.stages.inputs import class_names, dataset_info
from pipeline.visualize import grad_cam

log = logging.getLogger(__name__)

STAGE = "predict"
CSV_FILE = "predictions.csv"
COLUMNS = 8  # images per row of the contact sheet


def run_stage(context: StageContext) -> dict[str, float]:
    """Predict every readable image; returns {"predict_images": n, "predict_unreadable": m}."""
    cfg, settings, model = context.cfg, context.cfg.predict, context.model
    names, images, unreadable = read_inputs(settings.input, model.input_shape[1:])
    for name, why in unreadable:
        log.warning("predict: cannot read %s (%s); left out", name, why)
    classes, chances = top_classes(model, images, settings.top, settings.batch_size)
    labels = class_names(dataset_info(cfg), model)
    folder = context.run_dir / STAGE
    folder.mkdir(exist_ok=True)
    write_csv(folder / CSV_FILE, names, classes, chances, labels, unreadable)
    shown = min(settings.shown, len(images))
    panel = Panel(
        "contact_sheet",
        contact_sheet(model, names[:shown], images[:shown], classes[:shown, 0], chances[:shown, 0], labels),
        f"The first {shown} of {len(images)} images with the model's top class and its probability, under "
        "Grad-CAM's map of that class (bright: where the evidence for it lies); every image's top "
        f"{classes.shape[1]} classes are in {CSV_FILE}.",
    )
    metrics = {"predict_images": float(len(images)), "predict_unreadable": float(len(unreadable))}
    report.publish(context.run_dir, STAGE, [panel], metrics, warnings=[f"cannot read {n}: {w}" for n, w in unreadable])
    log.info("predict: %d images, top classes in %s", len(images), folder / CSV_FILE)
    return metrics


def label(labels: list[str], index: int) -> str:
    return labels[index] if index < len(labels) else f"class {index}"


def write_csv(path: Path, names, classes, chances, labels: list[str], unreadable) -> None:
    """One row per file: its top classes with their probabilities, or why it could not be read."""
    k = classes.shape[1]
    header = ["file"] + [f"{what}_{i + 1}" for i in range(k) for what in ("class", "probability")] + ["error"]
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for name, row, chance in zip(names, classes, chances):
            cells = [value for c, p in zip(row, chance) for value in (label(labels, int(c)), f"{p:.4f}")]
            writer.writerow([name, *cells, ""])
        for name, why in unreadable:
            writer.writerow([name, *[""] * (2 * k), why])


def contact_sheet(model: keras.Model, names, images: np.ndarray, top, chance, labels: list[str]):
    """The images in rows of `COLUMNS`, each under its top class's Grad-CAM map (the images alone
    for a model without a convolution whose map is at least 2x2)."""
    try:
        maps = grad_cam(model, images, class_index=top)
    except ValueError as error:
        log.info("predict: no Grad-CAM overlay (%s)", error)
        maps = None
    rows, cols = math.ceil(len(images) / COLUMNS), min(COLUMNS, len(images))
    fig, axes = grid(rows, cols, "Top class and Grad-CAM")
    for i, (name, image) in enumerate(zip(names, images)):
        axis = axes.flat[i]
        show(axis, image, f"{name[-18:]}\n{label(labels, int(top[i]))[:18]} {chance[i]:.2f}")
        if maps is not None:
            axis.imshow(maps[i], cmap="inferno", alpha=0.45, vmin=0.0, vmax=1.0)
    return fig
