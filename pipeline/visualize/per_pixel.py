"""Explaining one pixel of a per-pixel output (an edge map, a segmentation): the output at that
pixel is a score like a class logit, so saliency and Grad-CAM apply to it unchanged."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from pipeline.drawing import Panel
from pipeline.inference import probabilities
from pipeline.visualize.figures import heatmaps_figure
from pipeline.visualize.grad_cam import grad_cam
from pipeline.visualize.layer_graph import graph, model_output
from pipeline.visualize.methods import Context, method
from pipeline.visualize.saliency import saliency


@keras.saving.register_keras_serializable(package="pipeline.visualize")
class Pixel(keras.layers.Layer):
    """(N, H, W, C) -> (N, C): the values at one pixel."""

    def __init__(self, row: int, col: int, **kwargs):
        super().__init__(**kwargs)
        self.row, self.col = row, col

    def call(self, inputs):
        return inputs[:, self.row, self.col, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


def pixel_model(model: keras.Model, row: int, col: int) -> keras.Model:
    """The model's logits at pixel (row, col), as a model over the same layers and weights."""
    return keras.Model(graph(model).input, Pixel(row, col, name="pixel")(model_output(model)))


@dataclass(frozen=True)
class PixelExplanation:
    output: np.ndarray  # (H, W): edge probability, or the predicted class's probability per pixel
    row: int
    col: int
    channel: int  # the class explained (0 for an edge map)
    saliency: np.ndarray  # (H, W)
    grad_cam: np.ndarray  # (H, W) in [0, 1]


def pixel_explanations(model: keras.Model, image: np.ndarray, layer: str) -> PixelExplanation:
    """The output map of one image, its strongest pixel, and saliency and Grad-CAM (at `layer`) of
    that pixel's strongest channel. For a segmentation (several classes, class 0 the background),
    the strongest pixel predicted as an object when there is one: the background's certainty
    explains little."""
    output = probabilities(model, image[None])[0]
    strength = output[..., 0] if output.shape[-1] == 1 else output.max(axis=-1)
    candidates = strength
    if output.shape[-1] > 1 and (output.argmax(axis=-1) > 0).any():
        candidates = np.where(output.argmax(axis=-1) > 0, strength, -1.0)
    row, col = np.unravel_index(int(np.argmax(candidates)), strength.shape)
    channel = int(np.argmax(output[row, col])) if output.shape[-1] > 1 else 0
    probe = pixel_model(model, int(row), int(col))
    return PixelExplanation(
        strength,
        int(row),
        int(col),
        channel,
        saliency(probe, image[None], channel)[0],
        grad_cam(probe, image[None], layer, channel)[0],
    )


@method("edges", "attribution", dense=True, conv=True)
def edges_panel(c: Context) -> list[Panel]:
    found = [pixel_explanations(c.model, image, c.layers[-1]) for image in c.shown]
    edges = c.model.output_shape[-1] == 1
    what = "edge probability" if edges else "probability of the predicted class"
    captions = [
        f"{'edge' if edges else c.class_names[f.channel]} at ({f.row}, {f.col}): {f.output[f.row, f.col]:.2f}"
        for f in found
    ]
    figures = [
        (
            "edges",
            [f.output for f in found],
            f"The model's output: {what} per pixel",
            "edge probability" if edges else "confidence",
            "gray_r",
            False,
        ),
        (
            "edge_saliency",
            [f.saliency for f in found],
            "Saliency of the pixel explained",
            "|gradient|",
            "inferno",
            False,
        ),
        (
            "edge_grad_cam",
            [f.grad_cam for f in found],
            f"Grad-CAM at {c.layers[-1]}, pixel explained",
            "heat",
            "inferno",
            True,
        ),
    ]
    pixel = "the strongest pixel" if edges else "the most confident pixel of an object (captions: its class)"
    captions_of = {
        "edges": f"What the network outputs at every pixel ({what}).",
        "edge_saliency": f"Which input pixels move the output at {pixel}: its local neighbourhood.",
        "edge_grad_cam": f"Where {c.layers[-1]}'s maps carry evidence for the output at {pixel}.",
    }
    return [
        Panel(
            name,
            heatmaps_figure(c.shown, np.stack(maps), captions, title, label, cmap, overlay),
            captions_of[name],
        )
        for name, maps, title, label, cmap, overlay in figures
    ]
