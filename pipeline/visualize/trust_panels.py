"""The visualization stage's methods for trusting explanations: three more attribution methods
(integrated gradients, Grad-CAM++, Score-CAM), the top activating patches, and the faithfulness
scores and randomization check of every attribution method against a random map. Registered in
`METHODS` after the methods of `panels`."""

from __future__ import annotations

import logging

import numpy as np

from pipeline.drawing import Panel
from pipeline.visualize import trust_plots
from pipeline.visualize._common import kernel_layers
from pipeline.visualize.attributions import ATTRIBUTIONS
from pipeline.visualize.faithfulness import faithfulness, random_maps
from pipeline.visualize.feature_maps import most_active_filters
from pipeline.visualize.methods import Context, method
from pipeline.visualize.panels import heatmap_panel
from pipeline.visualize.randomization import randomization_checks
from pipeline.visualize.top_patches import top_activating_patches

log = logging.getLogger(__name__)
NEEDS_CONV = ("grad_cam", "grad_cam_plus_plus", "score_cam")  # attributions read from a conv layer's maps


@method("integrated_gradients", classifier=True)
def integrated_gradients_panel(c: Context) -> list[Panel]:
    maps = ATTRIBUTIONS["integrated_gradients"](c.model, c.shown, batch_size=c.settings.faithfulness.batch_size)
    bound = float(np.abs(maps).max()) or 1.0
    caption = (
        "Integrated gradients from a black image: each pixel's share of the class logit (red for, blue against); "
        "the shares add up to the logit's change."
    )
    title = "Integrated gradients (signed)"
    style = {"cmap": "RdBu_r", "overlay": False}
    return heatmap_panel(
        c, "integrated_gradients", np.clip(maps / bound, -1, 1), title, "attribution", caption, **style
    )


@method("grad_cam_plus_plus", classifier=True, conv=True)
def grad_cam_plus_plus_panel(c: Context) -> list[Panel]:
    maps = ATTRIBUTIONS["grad_cam_plus_plus"](c.model, c.shown, batch_size=c.settings.faithfulness.batch_size)
    caption = "Grad-CAM++: the last conv layer's maps weighted by their positive gradients, position by position."
    return heatmap_panel(c, "grad_cam_plus_plus", maps, "Grad-CAM++", "class activation", caption)


@method("score_cam", classifier=True, conv=True)
def score_cam_panel(c: Context) -> list[Panel]:
    maps = ATTRIBUTIONS["score_cam"](c.model, c.shown, batch_size=c.settings.faithfulness.batch_size)
    caption = "Score-CAM: each feature map of the last conv layer masks the image; the class's probability weighs it."
    return heatmap_panel(c, "score_cam", maps, "Score-CAM (no gradient)", "class activation", caption)


@method("top_patches", conv=True)
def top_patches_panel(c: Context) -> list[Panel]:
    panels = []
    for layer in c.layers:
        chosen = most_active_filters(c.model, layer, c.x, c.settings.filters_per_layer)
        found = top_activating_patches(c.model, layer, c.x, chosen, k=9, batch_size=c.settings.faithfulness.batch_size)
        caption = (
            f"For the {len(chosen)} filters of {layer} most active on the test images, the {found.patches.shape[1]} "
            f"test images where each responds most, cropped to the unit's receptive field "
            f"({found.patches.shape[2]}x{found.patches.shape[3]} pixels; Zeiler and Fergus 2014)."
        )
        figure = trust_plots.patches_figure(found.patches, chosen, layer)
        panels.append(Panel(f"top_patches_{layer}", figure, caption))
    return panels


@method("faithfulness", classifier=True)
def faithfulness_panel(c: Context) -> list[Panel]:
    f = c.settings.faithfulness
    methods = [m for m in f.methods if m not in NEEDS_CONV or kernel_layers(c.model)]
    x = c.x[: f.num_images]
    settings = {k: f[k] for k in ("baseline", "steps", "grid", "subset", "samples", "batch_size")}
    maps = {m: ATTRIBUTIONS[m](c.model, x, batch_size=f.batch_size) for m in methods}
    maps["random"] = random_maps(x.shape[:3], c.settings.seed)
    per_image = {m: faithfulness(c.model, x, m_maps, **settings) for m, m_maps in maps.items()}
    for m, numbers in per_image.items():
        for k, values in numbers.items():
            c.metrics[f"faithfulness_{m}_{k}"] = float(np.mean(values))
            c.series[f"faithfulness_{m}_{k}_per_image"] = dict(enumerate(map(float, values)))  # step: image
    floor = {k: float(np.mean(v)) for k, v in per_image.pop("random").items()}
    curves = _randomization(c, methods, x[: f.randomization_images])
    caption = (
        f"Remove the pixels a map ranks first (deletion), add them to a {f.baseline} baseline (insertion), or "
        f"remove random {f.grid}x{f.grid} cells (MuFidelity: does the map's mass there predict the probability's "
        "drop?). Bars: the mean over the images; dots: each image (in MLflow as the metric's per_image series, "
        "step = image). The dashed line is a random map: a method should beat it."
    )
    return [
        Panel("faithfulness", trust_plots.faithfulness_figure(per_image, floor), caption),
        Panel(
            "randomization",
            trust_plots.randomization_figure(curves, f.randomization_threshold),
            "Each method's maps on copies of the model whose layers are re-drawn from the output down: a faithful "
            "method's maps fall apart as the weights they explain do.",
        ),
    ]


def _randomization(c: Context, methods: list[str], x: np.ndarray) -> dict:
    """The randomization check of each method, as metrics, and a warning for each that fails it."""
    f = c.settings.faithfulness
    found = randomization_checks(c.model, methods, x, seed=c.settings.seed, batch_size=f.batch_size)
    curves = dict(zip(methods, found, strict=True))
    for m, steps in curves.items():
        c.metrics |= {f"randomization_{m}_spearman": steps[-1].spearman, f"randomization_{m}_ssim": steps[-1].ssim}
        if steps[-1].spearman > f.randomization_threshold:
            line = (
                f"{m} failed the randomization check: its maps on a fully random model still correlate "
                f"{steps[-1].spearman:.2f} (> {f.randomization_threshold:g}) with the trained model's: "
                "they show the image, not the model"
            )
            log.warning("visualize: %s", line)
            c.warnings.append(line)
    return curves
