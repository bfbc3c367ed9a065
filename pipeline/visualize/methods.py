"""The visualization stage's two registries and what their entries share.

`METHODS` (`visualize.methods`): each method's module registers a panel function with
`@method(name, section, **needs)`; it draws the method's figures for a `Context` (the model, the
test images, the settings, and where numbers and warnings go). What a method needs of a model
lets the stage skip the ones that do not apply; its section places it in the report.

`ATTRIBUTIONS` (`visualize.faithfulness.methods`): the attribution methods as one family,
`(model, x, class_index=None, batch_size=256) -> (N, H, W)` maps oriented so that higher means
more important to the class. Each method's module registers its own; the faithfulness scores
and the randomization check take any of them by name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
from omegaconf import DictConfig

from pipeline.drawing import Panel
from pipeline.inference import probabilities
from pipeline.registry import Registry
from pipeline.visualize.figures import heatmaps_figure
from pipeline.visualize.layer_graph import after_activation, kernel_layers


@dataclass
class Context:
    model: keras.Model
    x: np.ndarray  # test images, the first `num_images` are shown
    y: np.ndarray  # their labels (classifiers) or targets
    class_names: list[str]
    settings: DictConfig  # cfg.visualize
    target: str = "label"  # what the model was trained to output: label, mask or image
    code_layer: str | None = None  # an autoencoder's code, as its architecture declares
    photos: dict[str, np.ndarray] = field(default_factory=dict)  # sample photographs, RGB models only
    attribute_sets: tuple[np.ndarray, np.ndarray] | None = None  # images without / with an attribute
    metrics: dict[str, float] = field(default_factory=dict)
    series: dict[str, dict[int, float]] = field(default_factory=dict)  # {name: {step: value}}, e.g. per image
    warnings: list[str] = field(default_factory=list)  # lines for the top of the report

    @property
    def shown(self) -> np.ndarray:
        return self.x[: self.settings.num_images]

    def captions(self) -> list[str]:
        """ "true -> predicted (confidence)" per shown image."""
        scores = probabilities(self.model, self.shown)
        return [
            f"{self.class_names[t]} -> {self.class_names[p]} ({s[p]:.2f})"
            for t, p, s in zip(self.y, scores.argmax(axis=-1), scores)
        ]

    @functools.cached_property
    def layers(self) -> list[str]:
        """The configured layers, or the output after each of (up to) three convolutions spread
        over the depth: first, middle, last (after their activation when one follows)."""
        if self.settings.layers:
            return list(self.settings.layers)
        convs = kernel_layers(self.model)
        picked = sorted({convs[0], convs[len(convs) // 2], convs[-1]}, key=convs.index) if convs else []
        return [after_activation(self.model, name) for name in picked]


# The report's sections, in order: what the weights are, what the layers compute, what inputs
# they respond to, why the model decided, whether those explanations hold, what it represents.
SECTIONS = ("weights", "maps", "preferred inputs", "attribution", "trust", "representation")


@dataclass(frozen=True)
class Method:
    """panels: the method's figures for a context; section: one of `SECTIONS`; classifier: it
    explains class decisions (a classifier's logits); conv: it looks at 2D conv layers;
    autoencoder: it needs a declared code; dense: it explains per-pixel outputs (segmentation,
    edge maps); attribute: it needs the two image sets of `visualize.interpolation`."""

    panels: Callable[[Context], list[Panel]]
    section: str
    classifier: bool = False
    conv: bool = False
    autoencoder: bool = False
    dense: bool = False
    attribute: bool = False

    def skip_reason(self, c: Context) -> str | None:
        """Why the method does not apply to the context's model, or None when it does."""
        if len(c.model.input_shape) != 4:
            return "it needs image inputs (H, W, C)"
        if self.classifier and c.target != "label":
            return f"it explains class decisions and this model is trained on {c.target}s"
        if self.classifier and len(c.model.output_shape) != 2:
            return "it explains class decisions and this model has no classifier (its output is a feature map)"
        if self.dense and (len(c.model.output_shape) != 4 or c.target == "image"):
            return "it explains per-pixel outputs (segmentation, edges) and this model has none"
        if self.autoencoder and c.code_layer is None:
            return "it is for autoencoders (an architecture that declares its code layer)"
        if self.conv and not kernel_layers(c.model):
            return "the model has no 2D convolution"
        if self.attribute and c.attribute_sets is None:
            return "it needs visualize.interpolation.source_dir and target_dir (images without and with an attribute)"
        return None


METHODS: Registry[Method] = Registry("visualize.methods")


def method(name: str, section: str, **needs: bool) -> Callable:
    """Register a panel function as the method `name`, in a report section, with what it needs
    of a model (the flags of `Method`)."""
    if section not in SECTIONS:
        raise ValueError(f"section {section!r} of method {name!r} is not one of {SECTIONS}")

    def add(panels: Callable[[Context], list[Panel]]) -> Callable[[Context], list[Panel]]:
        METHODS.register(name, Method(panels, section, **needs))
        return panels

    return add


def report_order() -> list[str]:
    """Every registered method, section by section, by name within one."""
    return sorted(METHODS, key=lambda name: (SECTIONS.index(METHODS[name].section), name))


def heatmap_panel(c: Context, name: str, maps, title: str, label: str, caption: str, **style) -> list[Panel]:
    """One figure of per-pixel maps over the shown images, captioned with their predictions."""
    return [Panel(name, heatmaps_figure(c.shown, maps, c.captions(), title, label, **style), caption)]


Attribution = Callable[..., np.ndarray]
ATTRIBUTIONS: Registry[Attribution] = Registry("visualize.faithfulness.methods")


def attribution(method: str | Attribution) -> Attribution:
    """A registered attribution method by name, or the callable itself."""
    return ATTRIBUTIONS[method] if isinstance(method, str) else method
