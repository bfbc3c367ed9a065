"""`hed`: Holistically-nested edge detection (Xie and Tu, ICCV 2015): the VGG16 convolution stack
("same" 2x2 pools, so any input size works), a 1x1 conv "side output" after the last conv of each
of the five blocks, each upsampled (bilinear) to the input size, and a 1x1 "fuse" conv over the
five: per-pixel edge logits, (H, W, num_classes); HED's own model has one class, "edge".
"""

from __future__ import annotations

import keras

from pipeline.models.impl import Impl
from pipeline.models.vgg import CONVS_PER_BLOCK, WIDTHS


def min_input(**options) -> int:
    return 16  # four 2x2 pools before the last side output


@keras.saving.register_keras_serializable(package="pipeline.models")
class ResizeLike(keras.layers.Layer):
    """Bilinear resize of the first input to the spatial size of the second (any size)."""

    def call(self, inputs):
        x, like = inputs
        size = keras.ops.shape(like)[1:3]
        return keras.ops.cast(keras.ops.image.resize(x, size, interpolation="bilinear"), x.dtype)

    def compute_output_shape(self, input_shape):
        (batch, *_, channels), (_, height, width, _) = input_shape
        return (batch, height, width, channels)


def build(inputs, num_classes: int, impl: Impl):
    """HED on VGG16; the layer names are VGG16's (block1_conv1 ...) plus dsn1..dsn5 and fuse."""
    x, sides = inputs, []
    for block, (convs, width) in enumerate(zip(CONVS_PER_BLOCK[16], WIDTHS), start=1):
        if block > 1:
            x = impl.MaxPooling2D(2, padding="same", name=f"block{block - 1}_pool")(x)
        for conv in range(1, convs + 1):
            x = impl.Conv2D(width, 3, padding="same", name=f"block{block}_conv{conv}")(x)
            x = keras.layers.ReLU(name=f"block{block}_conv{conv}_relu")(x)
        side = impl.Conv2D(num_classes, 1, name=f"dsn{block}")(x)
        sides.append(side if block == 1 else ResizeLike(name=f"dsn{block}_up")([side, inputs]))
    fused = keras.layers.Concatenate(name="sides")(sides)
    return impl.Conv2D(num_classes, 1, name="fuse")(fused)
