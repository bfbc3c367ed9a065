"""The visualization stage's pieces: for each method, compute its arrays on the chosen model and
inputs, draw them, and say in one line what the picture shows. Numbers go to `context.metrics`.

Each registers in `methods.METHODS` (`visualize.methods`) with what it needs of a model.
"""

from __future__ import annotations

import numpy as np

from pipeline.drawing import Panel
from pipeline.visualize import plots
from pipeline.visualize._common import (
    after_activation,
    kernel_layers,
    last_conv_layer,
    layer_output,
    pooling_layers,
    spatial_layers,
)
from pipeline.visualize.activation_maximization import activation_maximization, class_model
from pipeline.visualize.autoencoder import interpolate, reconstructions
from pipeline.visualize.deep_dream import dream_zoom
from pipeline.visualize.dense import pixel_explanations
from pipeline.visualize.embedding import embedding
from pipeline.visualize.equivariance import equivariance
from pipeline.visualize.feature_interpolation import UPCHURCH_LAYERS, attribute, feature_interpolation
from pipeline.visualize.feature_maps import feature_maps, most_active_filters
from pipeline.visualize.filters import filters
from pipeline.visualize.grad_cam import grad_cam
from pipeline.visualize.methods import Context, method
from pipeline.visualize.occlusion import occlusion, patch_for
from pipeline.visualize.orientation_tuning import orientation_tuning, selectivity
from pipeline.visualize.receptive_field import effective_receptive_field
from pipeline.visualize.saliency import saliency, smoothgrad


@method("filters", conv=True)
def filters_panel(c: Context) -> list[Panel]:
    first = kernel_layers(c.model)[0]
    return [
        Panel(
            "filters",
            plots.kernels_figure(filters(c.model, first), first),
            f"The learned kernels of {first}: the first layer's filters are edge, blob and colour detectors.",
        )
    ]


@method("feature_maps", conv=True)
def feature_maps_panel(c: Context) -> list[Panel]:
    inputs = {"a test image": c.shown[:1], **{f"the {k} photograph": v[None] for k, v in c.photos.items()}}
    return [
        Panel(
            f"feature_maps_{i}",
            plots.feature_maps_figure(
                image[0], {k: v[0] for k, v in feature_maps(c.model, image, c.layers).items()}, name
            ),
            f"What {', '.join(c.layers)} compute for {name}: each map is one filter's response.",
        )
        for i, (name, image) in enumerate(inputs.items())
    ]


@method("orientation_tuning", conv=True)
def orientation_tuning_panel(c: Context) -> list[Panel]:
    layer = after_activation(c.model, kernel_layers(c.model)[0])
    angles, responses = orientation_tuning(c.model, layer)
    osi = selectivity(angles, responses)
    c.metrics["orientation_selectivity_mean"] = float(osi.mean())
    return [
        Panel(
            "orientation_tuning",
            plots.tuning_figure(angles, responses, osi, layer),
            f"How each unit of {layer} answers a bar through the centre as it turns (Hubel and Wiesel's "
            "experiment): a narrow lobe is an orientation detector; OSI 1 answers one orientation only, 0 any.",
        )
    ]


@method("activation_maximization", conv=True)
def activation_maximization_panel(c: Context) -> list[Panel]:
    panels = []
    for layer in c.layers:
        chosen = most_active_filters(c.model, layer, c.shown, c.settings.filters_per_layer)
        images = activation_maximization(
            c.model,
            layer,
            chosen,
            steps=c.settings.steps,
            seed=c.settings.seed,
            start_level=float(c.x.mean()),
        )
        panels.append(
            Panel(
                f"activation_maximization_{layer}",
                plots.images_figure(
                    images, [f"filter {f}" for f in chosen], f"{layer}: inputs that maximise each filter"
                ),
                f"Gradient ascent on ||h(x)|| of the {len(chosen)} filters of {layer} most active on the test "
                "images, from faint noise at the data's mean: the pattern each responds to.",
            )
        )
    return panels


@method("class_model", classifier=True)
def class_model_panel(c: Context) -> list[Panel]:
    classes = list(c.settings.class_models or range(min(len(c.class_names), 20)))
    images = class_model(c.model, classes, steps=c.settings.steps, seed=c.settings.seed)
    return [
        Panel(
            "class_model",
            plots.images_figure(images, [c.class_names[k] for k in classes], "Class models"),
            "Inputs that maximise each class logit: what the network takes each class to look like.",
        )
    ]


def heatmap_panel(c: Context, name: str, maps, title: str, label: str, caption: str, **style) -> list[Panel]:
    """One figure of per-pixel maps over the shown images, captioned with their predictions."""
    return [Panel(name, plots.heatmaps_figure(c.shown, maps, c.captions(), title, label, **style), caption)]


@method("saliency", classifier=True)
def saliency_panel(c: Context) -> list[Panel]:
    title = "Saliency: |d logit / d x| of the predicted class"
    caption = "Which pixels change the predicted class's score the most (max over channels)."
    return heatmap_panel(c, "saliency", saliency(c.model, c.shown), title, "|gradient|", caption, overlay=False)


@method("smoothgrad", classifier=True)
def smoothgrad_panel(c: Context) -> list[Panel]:
    maps = smoothgrad(c.model, c.shown, seed=c.settings.seed)
    title = "SmoothGrad: saliency averaged over noisy copies"
    caption = "Saliency averaged over 25 noisy copies of each image: less speckle, same evidence."
    return heatmap_panel(c, "smoothgrad", maps, title, "|gradient|", caption, overlay=False)


@method("occlusion", classifier=True)
def occlusion_panel(c: Context) -> list[Panel]:
    patch, stride = patch_for(c.x.shape[1])
    maps = occlusion(c.model, c.shown, c.y[: len(c.shown)], patch=patch, stride=stride)
    title = "Occlusion: probability of the true class"
    caption = "The true class's probability while a grey square hides each region: low (red) where the evidence is."
    return heatmap_panel(c, "occlusion", maps, title, "P(true class)", caption, cmap="RdYlBu", overlay=False)


@method("grad_cam", classifier=True, conv=True)
def grad_cam_panel(c: Context) -> list[Panel]:
    layer = last_conv_layer(c.model)
    title = f"Grad-CAM at {layer}, predicted class"
    caption = f"Where {layer}'s maps carry evidence for the predicted class, upsampled over the image."
    return heatmap_panel(c, "grad_cam", grad_cam(c.model, c.shown, layer), title, "class activation", caption)


@method("embedding", classifier=True)
def embedding_panel(c: Context) -> list[Panel]:
    count = min(len(c.x), c.settings.embedding_examples)
    coords = embedding(c.model, c.x[:count], seed=c.settings.seed)
    return [
        Panel(
            "embedding",
            plots.embedding_figure(
                coords, c.y[:count], c.class_names, f"t-SNE of the penultimate features ({count} test images)"
            ),
            "The features the classifier reads, laid out in 2D by t-SNE: classes the network separates form clusters.",
        )
    ]


@method("deep_dream", conv=True)
def deep_dream_panel(c: Context) -> list[Panel]:
    start = np.stack(list(c.photos.values())[:1] or [c.shown[0]])
    layer, count = c.layers[-1], c.settings.dream_frames
    frames = [
        f[0]
        for f in dream_zoom(c.model, start, [layer], frames=count, steps=c.settings.dream_steps, seed=c.settings.seed)
    ]
    shown = [frames[0], frames[1], *frames[2:][-2:]]
    titles = ["start", "frame 1", *[f"frame {k}" for k in range(len(frames) - len(shown) + 2, len(frames))]]
    return [
        Panel(
            "deep_dream",
            plots.images_figure(shown, titles, f"DeepDream on {layer}"),
            f"Gradient ascent on the image itself at three scales, amplifying what {layer} responds to; then "
            f"zoom-and-repeat, {count} frames (deep_dream.gif).",
            animation=frames,
        )
    ]


@method("feature_interpolation", conv=True, attribute=True)
def feature_interpolation_panel(c: Context) -> list[Panel]:
    s, names = c.settings.interpolation, [layer.name for layer in c.model.layers]
    wanted = s.layers or (UPCHURCH_LAYERS if set(UPCHURCH_LAYERS) <= set(names) else c.layers)
    layers = [after_activation(c.model, n) if n in UPCHURCH_LAYERS else n for n in wanted]
    a = attribute(c.model, *c.attribute_sets, layers)
    x = c.shown[: s.num_images]
    r = feature_interpolation(c.model, x, a, s.strengths, s.steps, s.tv_weight, s.learning_rate)
    c.metrics |= {f"dfi_moved/{alpha:g}": float(moved.mean()) for alpha, moved in zip(r.strengths, r.moved)}
    images = [im for i in range(len(x)) for im in (x[i], *r.images[:, i])]
    titles = [
        t
        for i in range(len(x))
        for t in ("original", *[f"alpha {a:g}: moved {m[i]:+.2f}" for a, m in zip(r.strengths, r.moved)])
    ]
    return [
        Panel(
            "feature_interpolation",
            plots.images_figure(
                images, titles, f"Deep feature interpolation at {', '.join(layers)}", len(titles) // len(x)
            ),
            f"Features moved by alpha times (mean features with - without the attribute, {len(c.attribute_sets[0])} "
            f"and {len(c.attribute_sets[1])} images), reconstructed by {s.steps} Adam steps with a TV prior; "
            "'moved' is how far the edit's features went along that vector (the goal is alpha).",
        )
    ]


@method("receptive_field", conv=True)
def receptive_field_panel(c: Context) -> list[Panel]:
    fields = [effective_receptive_field(c.model, layer, c.shown) for layer in c.layers]
    for f in fields:
        c.metrics |= {
            f"erf_measured/{f.layer}": f.measured[0],
            f"erf_theoretical/{f.layer}": f.theoretical[0],
            f"erf_effective90/{f.layer}": f.effective,
        }
    return [
        Panel(
            "receptive_field",
            plots.receptive_fields_figure(fields),
            "Where one central unit looks: dashed is what its layer geometry allows, solid what the gradient reaches.",
        )
    ]


@method("equivariance", conv=True)
def equivariance_panel(c: Context) -> list[Panel]:
    chosen = set(c.layers) | set(pooling_layers(c.model))
    names = [n for n in spatial_layers(c.model) if n in chosen and min(layer_output(c.model, n).shape[1:3]) >= 2][:8]
    results = [equivariance(c.model, c.shown, name) for name in names]
    for r in results:
        c.metrics |= {
            f"equivariance_error/{r.layer}": r.equivariance_error,
            f"invariance_change/{r.layer}": r.invariance_change,
        }
    return [
        Panel(
            "equivariance",
            plots.equivariance_figure(results),
            "Shifting the input by a layer's stride shifts its maps "
            "(equivariance); pooling damps one-pixel shifts (invariance).",
        )
    ]


@method("edges", dense=True, conv=True)
def edges_panel(c: Context) -> list[Panel]:
    found = [pixel_explanations(c.model, image, c.layers[-1]) for image in c.shown]
    captions = [f"strongest at ({f.row}, {f.col}): {f.output[f.row, f.col]:.2f}" for f in found]
    what = "edge probability" if c.model.output_shape[-1] == 1 else "top class probability"
    figures = [
        ("edges", [f.output for f in found], f"The model's output: {what} per pixel", what, "gray_r", False),
        (
            "edge_saliency",
            [f.saliency for f in found],
            "Saliency of the strongest pixel",
            "|gradient|",
            "inferno",
            False,
        ),
        (
            "edge_grad_cam",
            [f.grad_cam for f in found],
            f"Grad-CAM at {c.layers[-1]}, strongest pixel",
            "heat",
            "inferno",
            True,
        ),
    ]
    captions_of = {
        "edges": f"What the network outputs at every pixel ({what}).",
        "edge_saliency": "Which input pixels move the output at the strongest pixel: its local neighbourhood.",
        "edge_grad_cam": f"Where {c.layers[-1]}'s maps carry evidence for the output at the strongest pixel.",
    }
    return [
        Panel(
            name,
            plots.heatmaps_figure(c.shown, np.stack(maps), captions, title, label, cmap, overlay),
            captions_of[name],
        )
        for name, maps, title, label, cmap, overlay in figures
    ]


@method("autoencoder", autoencoder=True)
def autoencoder_panel(c: Context) -> list[Panel]:
    shown = c.shown
    rebuilt = reconstructions(c.model, shown)
    line = interpolate(c.model, shown[0], shown[1], c.code_layer, steps=8)
    c.metrics["reconstruction_mse"] = float(np.mean((rebuilt - shown) ** 2))
    return [
        Panel(
            "reconstructions",
            plots.images_figure(
                [*shown, *rebuilt],
                ["input"] * len(shown) + ["reconstruction"] * len(shown),
                "Inputs and reconstructions",
                cols=len(shown),
            ),
            "Top: test images; bottom: what the decoder rebuilds from the code.",
        ),
        Panel(
            "interpolation",
            plots.images_figure(
                list(line), [f"{w:.2f}" for w in np.linspace(0, 1, len(line))], "Decoded points between two codes"
            ),
            "Decoding points on the straight line between two images' codes: the latent space is continuous.",
        ),
    ]
