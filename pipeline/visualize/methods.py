"""The registry of the visualization stage's methods (`visualize.methods`) and the context they
run on: the model, the test images, the settings, and where numbers and warnings go. Each entry
says what the method needs of a model, so the stage can skip the ones that do not apply; the
methods register in `panels` and then `trust_panels`, the order they run in.
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
from pipeline.visualize._common import after_activation, kernel_layers


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


@dataclass(frozen=True)
class Method:
    """panels: the method's figures for a context; classifier: it explains class decisions (a
    classifier's logits); conv: it looks at 2D conv layers; autoencoder: it needs a declared code;
    dense: it explains per-pixel outputs (segmentation, edge maps); attribute: it needs the
    two image sets of `visualize.interpolation`."""

    panels: Callable[[Context], list[Panel]]
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


def method(name: str, **needs: bool) -> Callable:
    """Register a panel function as the method `name`, with what it needs of a model."""

    def add(panels: Callable[[Context], list[Panel]]) -> Callable[[Context], list[Panel]]:
        METHODS.register(name)(Method(panels, **needs))
        return panels

    return add
