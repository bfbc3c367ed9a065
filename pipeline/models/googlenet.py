"""`googlenet`: GoogLeNet, Inception v1 (Szegedy et al., "Going deeper with convolutions", CVPR
2015), the 22 layers with weights of the paper's Table 1: a 7x7/2 conv, a 1x1 then 3x3 conv, nine
Inception modules (parallel 1x1, 1x1 -> 3x3, 1x1 -> 5x5 and 3x3 max-pool -> 1x1 branches,
concatenated) with max-pools between stages, global average pooling, dropout 0.4 and the
classifier. Without local response normalization (later work found it adds nothing). With biases,
6,998,552 parameters at 224x224x3 and 1000 classes (6,990,272 without): 2.9% above the 6.8M
Table 1 prints, whose rows drift from its own widths (inception 4c: 463K printed, 509,440
weights from its widths).

`aux_heads=True` adds the paper's two auxiliary classifiers on inception 4a and 4d (section 5:
5x5/3 average pool, 1x1 conv 128, FC 1024, dropout 0.7, FC classes; 3,188,840 and 3,190,888
parameters at 224 and 1000 classes). The model then has three outputs, the main logits first:
training adds each auxiliary loss with weight 0.3 (`pipeline.training.loop.AUXILIARY_WEIGHT`),
and every later use (evaluation, the saved model, the other stages) keeps only the first.
"""

from __future__ import annotations

import keras

from pipeline.models.impl import Impl

# Table 1, per module: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
POOL_AFTER = ("3b", "4e")  # a 3x3/2 max-pool ends stages 3 and 4
AUX_AFTER = ("4a", "4d")  # the auxiliary classifiers read these modules' outputs


def min_input(**options) -> int:
    return 32  # conv1 and four max-pools halve it: 1x1 before the average pool


def conv(x, impl: Impl, filters: int, kernel: int, name: str, strides: int = 1):
    x = impl.Conv2D(filters, kernel, strides=strides, padding="same", name=name)(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def inception(x, impl: Impl, widths: tuple[int, ...], name: str):
    """The four branches of one module, concatenated along the channels."""
    ones, reduce3, threes, reduce5, fives, pool_proj = widths
    pooled = impl.MaxPooling2D(3, 1, padding="same", name=f"{name}_pool")(x)
    branches = [
        conv(x, impl, ones, 1, f"{name}_1x1_conv"),
        conv(conv(x, impl, reduce3, 1, f"{name}_3x3_reduce_conv"), impl, threes, 3, f"{name}_3x3_conv"),
        conv(conv(x, impl, reduce5, 1, f"{name}_5x5_reduce_conv"), impl, fives, 5, f"{name}_5x5_conv"),
        conv(pooled, impl, pool_proj, 1, f"{name}_pool_proj"),
    ]
    return keras.layers.Concatenate(name=f"{name}_output")(branches)


def auxiliary_head(x, impl: Impl, num_classes: int, name: str):
    """Section 5's auxiliary classifier. Its 5x5/3 average pool (4x4 maps at 224) shrinks to the
    whole map on inputs under 80 pixels, where the maps are smaller than 5."""
    pool = min(5, *x.shape[1:3])
    x = impl.AveragePooling2D(pool, 3, name=f"{name}_pool")(x)
    x = conv(x, impl, 128, 1, f"{name}_conv")
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = keras.layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return keras.layers.Dense(num_classes, name=f"{name}_logits")(x)


def build(inputs, num_classes: int, impl: Impl, dropout: float = 0.4, aux_heads: bool = False):
    """The logits; with `aux_heads`, [logits, auxiliary logits on 4a, on 4d]."""
    x = conv(inputs, impl, 64, 7, "conv1", strides=2)
    x = impl.MaxPooling2D(3, 2, padding="same", name="pool1")(x)
    x = conv(conv(x, impl, 64, 1, "conv2_reduce"), impl, 192, 3, "conv2")
    x = impl.MaxPooling2D(3, 2, padding="same", name="pool2")(x)
    auxiliary = []
    for name, widths in MODULES.items():
        x = inception(x, impl, widths, f"inception_{name}")
        if aux_heads and name in AUX_AFTER:
            auxiliary.append(auxiliary_head(x, impl, num_classes, f"aux_{name}"))
        if name in POOL_AFTER:
            x = impl.MaxPooling2D(3, 2, padding="same", name=f"pool{name[0]}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return [logits, *auxiliary] if aux_heads else logits
