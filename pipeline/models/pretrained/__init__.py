"""Pretrained weights in our architectures: `build_model(..., pretrained="imagenet" | "hed" | path)`.

A source gives {Keras Applications layer name: arrays} (see `files`); `Pretrained` decides what
loads (the whole classifier when classes, input size and top match; else the base and a new
head), the options the architecture must be built with to compute what the weights computed
(ResNet50 downsamples in its first 1x1 conv in Keras), and the preprocessing layer that lets
the model take [0, 1] RGB; `assign` copies the arrays in, folding Keras ResNet50's conv biases
into the batch-norm means that follow them: BN(conv(x) + b) with mean m is BN(conv(x)) with m - b.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from pipeline.errors import ConfigError
from pipeline.models.heads import head_start
from pipeline.models.pretrained import files
from pipeline.models.pretrained.files import MissingWeightsError, Weights
from pipeline.registry import Registry

log = logging.getLogger(__name__)

# Keras Applications' "caffe" preprocessing (VGG16/19, ResNet50) and HED's Caffe model's.
IMAGENET_PREPROCESS = {"scale": 255.0, "bgr": True, "mean": (103.939, 116.779, 123.68)}
HED_PREPROCESS = {"scale": 255.0, "bgr": True, "mean": (104.00699, 116.66877, 122.67892)}
KERAS_RESNET_BN_EPSILON = 1.001e-5
# ImageNet's 1000 class names in the order of the classifiers' logits (shipped: no download).
IMAGENET_CLASSES = (Path(__file__).parent / "imagenet_classes.txt").read_text().splitlines()


def _vgg_name(ours: str) -> str:
    return "predictions" if ours == "logits" else ours


def _resnet_name(ours: str) -> str:
    """Ours (stage3_block1_conv2_bn, stage3_block1_proj) -> Keras's (conv3_block1_2_bn, conv3_block1_0_conv)."""
    if ours == "logits":
        return "predictions"
    if ours in ("conv1", "conv1_bn"):
        return "conv1_conv" if ours == "conv1" else ours
    match = re.fullmatch(r"stage(\d)_block(\d+)_(conv(\d)|proj)(_bn)?", ours)
    if not match:
        return ours
    stage, block, _, index, bn = match.groups()
    return f"conv{stage}_block{block}_{index or 0}_{'bn' if bn else 'conv'}"


@dataclass(frozen=True)
class Family:
    """What loading pretrained weights into one of our architectures needs."""

    keras_name: Callable[[str], str]
    options: dict = field(default_factory=dict)  # architecture options the weights require
    bn_epsilon: float | None = None


# The architectures pretrained weights load into (`model.name` with `model.pretrained`).
PRETRAINED_ARCHITECTURES: Registry[Family] = Registry("architecture with pretrained weights")
PRETRAINED_ARCHITECTURES.register("vgg16", Family(_vgg_name))
PRETRAINED_ARCHITECTURES.register("vgg19", Family(_vgg_name))
PRETRAINED_ARCHITECTURES.register("resnet50", Family(_resnet_name, {"downsample_in": "1x1"}, KERAS_RESNET_BN_EPSILON))
PRETRAINED_ARCHITECTURES.register("hed", Family(lambda ours: ours))

# Named sources: (architecture, whether its top is wanted) -> weights file. Any other value is a path.
SOURCES: Registry[Callable[[str, bool], Path]] = Registry("model.pretrained")


@SOURCES.register("imagenet")
def _imagenet(arch: str, top: bool) -> Path:
    if arch not in files.APPLICATIONS:
        raise ConfigError(f"pretrained='imagenet' exists for {', '.join(files.APPLICATIONS)}; not for {arch}.")
    return files.imagenet_weights(arch, top)


@SOURCES.register("hed")
def _hed(arch: str, top: bool) -> Path:
    if arch not in ("vgg16", "hed"):
        raise ConfigError(f"pretrained='hed' is a VGG16 conv stack: use it with vgg16 or hed, not {arch}.")
    return files.hed_weights()


@dataclass(frozen=True)
class Pretrained:
    """Weights read for one architecture, and how the model must be built to take them."""

    arch: str
    weights: Weights
    num_classes: int | None  # the logits the model gets (None: no head)
    options: dict  # architecture options to build with
    preprocess: dict  # Preprocess layer arguments

    def assign(self, model: keras.Model) -> None:
        """Copy the weights into `model`'s layers by name; head layers the weights do not fit
        stay freshly initialised (transfer learning)."""
        family = PRETRAINED_ARCHITECTURES[self.arch]
        folds, head = {}, {layer.name for layer in model.layers[head_start(model) :]}
        for layer in model.layers:
            source = self.weights.get(family.keras_name(layer.name))
            if not layer.weights:
                continue
            if source is None or [a.shape for a in source[: len(layer.weights)]] != [w.shape for w in layer.weights]:
                self._missing(layer, source, layer.name in head)
                continue
            if len(source) == len(layer.weights) + 1:  # a conv bias ours does not have: fold it
                folds[f"{layer.name}_bn"] = source[-1]
            layer.set_weights(source[: len(layer.weights)])
        for name, bias in folds.items():
            bn = model.get_layer(name)
            gamma, beta, mean, variance = bn.get_weights()
            bn.set_weights([gamma, beta, mean - bias, variance])
        if family.bn_epsilon is not None:
            for layer in model.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.epsilon = family.bn_epsilon

    def _missing(self, layer: keras.layers.Layer, source: list[np.ndarray] | None, in_head: bool) -> None:
        if in_head:
            log.info(
                "pretrained: %s is new (the weights have %s)", layer.name, "none" if source is None else "another shape"
            )
            return
        found = "no such layer" if source is None else f"shapes {[a.shape for a in source]}"
        raise ConfigError(
            f"The pretrained weights do not fit {self.arch}: layer {layer.name} has shapes "
            f"{[tuple(w.shape) for w in layer.weights]}, the weights {found}. Are they {self.arch}'s?"
        )


def pretrained(arch: str, source: str, input_shape: tuple, num_classes: int | None, options: dict) -> Pretrained:
    """Read `source` for `arch` and decide the head: the weights' own classifier when
    `num_classes` (None: the weights' own) and the input size match it, else a new head
    (VGG: global average pooling and a dense layer when the size differs from 224x224)."""
    PRETRAINED_ARCHITECTURES.check(arch)
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ConfigError(f"Pretrained {arch} takes RGB images (H, W, 3). Received: input_shape={tuple(input_shape)}")
    square = tuple(input_shape[:2]) == (224, 224)
    wants_top = square and num_classes in (None, 1000)
    path = SOURCES[source](arch, wants_top) if source in SOURCES else source
    weights = files.read(path, arch)
    own_classes = weights["predictions"][0].shape[-1] if "predictions" in weights else None
    classes = own_classes if num_classes is None else num_classes
    if arch == "hed":
        classes = num_classes or 1
    options = {**PRETRAINED_ARCHITECTURES[arch].options, **options}
    if arch.startswith("vgg") and "head" not in options:
        options["head"] = "none" if classes is None else ("flatten" if square and "fc1" in weights else "gap")
    elif arch == "resnet50" and classes is None:
        options.setdefault("head", "none")
    preprocess = HED_PREPROCESS if "fuse" in weights else IMAGENET_PREPROCESS
    log.info("pretrained: %s weights from %s (%d layers)", arch, path, len(weights))
    return Pretrained(arch, weights, classes, options, dict(preprocess))


__all__ = ["IMAGENET_CLASSES", "PRETRAINED_ARCHITECTURES", "SOURCES", "MissingWeightsError", "Pretrained", "pretrained"]
