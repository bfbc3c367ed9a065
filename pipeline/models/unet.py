"""`unet`: a small U-Net (Ronneberger, Fischer and Brox, "U-Net: convolutional networks for
biomedical image segmentation", MICCAI 2015) for the `shapes` segmentation set.

A contracting path of [CONV -> RELU]*2 -> POOL stages, a bottleneck, and an expanding path of
2x2 transposed convolutions whose output is concatenated with the matching contracting stage
(the skip connections), then a 1x1 conv to per-pixel class logits. "same" convolutions keep
sizes equal, so no cropping is needed (the paper used "valid" ones and cropped).
"""

from __future__ import annotations

import keras

from pipeline.errors import ConfigError
from pipeline.models.impl import Impl


def min_input(depth: int = 3, **options) -> int:
    return 2**depth


def multiple_of(depth: int = 3, **options) -> int:
    return 2**depth


def double_conv(x, impl: Impl, filters: int, name: str):
    for i in (1, 2):
        x = impl.Conv2D(filters, 3, padding="same", name=f"{name}_conv{i}")(x)
        x = keras.layers.ReLU(name=f"{name}_conv{i}_relu")(x)
    return x


def build(inputs, num_classes: int, impl: Impl, depth: int = 3, filters: int = 16):
    """`depth` poolings; `filters` in the first stage, doubled at each stage down."""
    if not isinstance(depth, int) or depth < 1:
        raise ConfigError(f"Invalid value for option `depth`. Expected an integer >= 1. Received: depth={depth!r}")
    skips, x = [], inputs
    for level in range(1, depth + 1):
        x = double_conv(x, impl, filters * 2 ** (level - 1), f"down{level}")
        skips.append(x)
        x = impl.MaxPooling2D(2, name=f"down{level}_pool")(x)
    x = double_conv(x, impl, filters * 2**depth, "bottleneck")
    for level in range(depth, 0, -1):
        width = filters * 2 ** (level - 1)
        x = impl.Conv2DTranspose(width, 2, strides=2, name=f"up{level}_deconv")(x)
        x = keras.layers.Concatenate(name=f"up{level}_skip")([x, skips[level - 1]])
        x = double_conv(x, impl, width, f"up{level}")
    return impl.Conv2D(num_classes, 1, name="pixel_logits")(x)
