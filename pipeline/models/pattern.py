"""`pattern`: INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC.

The layer grammar of the CS231n convolutional networks notes (Karpathy), from which the
lecture's example architectures are option sets (`PRESETS`). Convolutions keep the spatial
size ("same" padding); each pool halves it.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from pipeline.errors import ConfigError
from pipeline.models import blocks
from pipeline.models.impl import Impl

POOLINGS = ("max", "average", "l2", "none")

# The lecture's five example architectures.
PRESETS = {
    "linear": dict(convs_per_stage=0, stages=0, fc_layers=0),  # INPUT -> FC
    "mlp": dict(convs_per_stage=0, stages=0, fc_layers=2),  # INPUT -> [FC -> RELU]*2 -> FC
    "conv_fc": dict(convs_per_stage=1, stages=1, fc_layers=0, pooling="none"),  # INPUT -> CONV -> RELU -> FC
    "two_stage": dict(convs_per_stage=1, stages=2, fc_layers=1),  # [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC
    "vgg_like": dict(convs_per_stage=2, stages=3, fc_layers=2),  # [[CONV -> RELU]*2 -> POOL]*3 -> [FC -> RELU]*2 -> FC
}


# Option defaults; a preset overrides them and explicit options override the preset.
DEFAULTS = dict(
    convs_per_stage=2,  # N: convolutions (each followed by the activation) per stage
    stages=2,  # M: stages, each ending in a pool unless pooling="none"
    fc_layers=1,  # K: hidden fully connected layers
    filters=32,  # per stage, or an int doubled at every stage
    kernel_size=3,
    pooling="max",  # max | average | l2 | none
    activation="relu",  # relu | leaky_relu (0.1) | elu | tanh | sigmoid | maxout
    fc_units=128,
)


def settings(preset: str | None = None, **options) -> dict:
    """The options in force: defaults, then the preset, then what was passed."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"Unknown option(s) {unknown} for 'pattern'. Options: {sorted(DEFAULTS)} and 'preset'.")
    if preset is not None:
        blocks.check_choice("preset", preset, tuple(PRESETS))
    merged = {**DEFAULTS, **PRESETS.get(preset, {}), **options}
    for option in ("convs_per_stage", "stages", "fc_layers"):
        if not isinstance(merged[option], int) or merged[option] < 0:
            raise ConfigError(
                f"Invalid value for option `{option}`. Expected an integer >= 0. Received: {option}={merged[option]!r}"
            )
    blocks.check_choice("pooling", merged["pooling"], POOLINGS)
    blocks.check_choice("activation", merged["activation"], blocks.ACTIVATIONS)
    return merged


def min_input(preset: str | None = None, **options) -> int:
    s = settings(preset, **options)
    return 1 if s["pooling"] == "none" else 2 ** s["stages"]


def build(num_classes: int, impl: Impl, preset: str | None = None, **options) -> list[keras.layers.Layer]:
    """The grammar's layers for these options (see `DEFAULTS` and `PRESETS`)."""
    s = settings(preset, **options)
    activation = s["activation"]
    out: list[keras.layers.Layer] = []
    for stage, width in enumerate(_stage_widths(s["filters"], s["stages"]), start=1):
        for conv in range(1, s["convs_per_stage"] + 1):
            name = f"conv{stage}_{conv}"
            out.append(impl.Conv2D(width * blocks.pieces(activation), s["kernel_size"], padding="same", name=name))
            out.append(blocks.activation_layer(activation, width, impl, name=f"{name}_{activation}"))
        if s["pooling"] != "none":
            out.append(_pool(s["pooling"], impl, name=f"pool{stage}"))
    out.append(keras.layers.Flatten(name="flatten"))
    return out + blocks.classifier_head([s["fc_units"]] * s["fc_layers"], num_classes, impl, activation=activation)


def _stage_widths(filters: int | Sequence[int], stages: int) -> list[int]:
    if isinstance(filters, int):
        return [filters * 2**i for i in range(stages)]
    widths = [int(f) for f in filters]
    if len(widths) != stages:
        raise ConfigError(f"Option `filters` needs one width per stage ({stages}). Received: filters={filters!r}")
    return widths


def _pool(kind: str, impl: Impl, name: str) -> keras.layers.Layer:
    if kind == "max":
        return impl.MaxPooling2D(2, name=name)
    if kind == "average":
        return impl.AveragePooling2D(2, name=name)
    return impl.LpPooling2D(2, name=name)
