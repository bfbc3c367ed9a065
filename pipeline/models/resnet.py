"""`resnet18`, `resnet34`, `resnet50`, `resnet101`, `resnet152` and `resnet20`: He, Zhang, Ren
and Sun, "Deep residual learning for image recognition", CVPR 2016.

ImageNet nets: 7x7/2 conv, 3x3/2 max-pool, four stages of basic blocks (18, 34) or bottleneck
blocks (50, 101, 152), convolutions without bias followed by batch norm, projection shortcuts (1x1 conv +
batch norm) where the shape changes, global average pooling, FC. The stride sits in the 3x3
conv of a bottleneck (as torchvision): ResNet-50 has 25,557,032 trainable parameters at
224x224x3 with 1000 classes, ResNet-101 44,549,160 and ResNet-152 60,192,808 (torchvision's
counts). `resnet20` is the paper's CIFAR net (section 4.2): 3x3 conv with
16 filters, three stages of three basic blocks (16, 32, 64 filters), identity shortcuts that
subsample and zero-pad channels (option A): 269,722 parameters with 10 classes (0.27M).
"""

from __future__ import annotations

import functools

import keras

from pipeline.models import blocks
from pipeline.models.impl import Impl

# Blocks per stage and block kind for each ImageNet depth.
LAYOUTS = {
    18: ((2, 2, 2, 2), "basic"),
    34: ((3, 4, 6, 3), "basic"),
    50: ((3, 4, 6, 3), "bottleneck"),
    101: ((3, 4, 23, 3), "bottleneck"),
    152: ((3, 8, 36, 3), "bottleneck"),
}
STAGE_WIDTHS = (64, 128, 256, 512)
BOTTLENECK_EXPANSION = 4


def min_input_imagenet(**options) -> int:
    return 32  # total stride: conv1 2, pool 2, stages 3 to 5 2 each


def min_input_cifar(**options) -> int:
    return 4  # two strided stages


def batch_norm(name: str) -> keras.layers.Layer:
    # PyTorch's defaults, which the published ImageNet weights were trained with.
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def conv_bn(x, impl: Impl, filters: int, kernel: int, strides: int, name: str, relu: bool = True):
    """conv (no bias) -> batch norm (-> ReLU); 3x3 convs pad by 1 as the paper's code does."""
    if kernel == 3 and strides > 1:
        x = blocks.apply(impl.padded_conv2d(filters, 3, padding=1, strides=strides, use_bias=False, name=name), x)
    else:
        x = impl.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = batch_norm(f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def basic_block(x, impl: Impl, width: int, strides: int, name: str, shortcut=None):
    residual = conv_bn(x, impl, width, 3, strides, f"{name}_conv1")
    residual = conv_bn(residual, impl, width, 3, 1, f"{name}_conv2", relu=False)
    return _merge(x, residual, impl, strides, name, shortcut)


def bottleneck_block(x, impl: Impl, width: int, strides: int, name: str, shortcut=None, downsample_in: str = "3x3"):
    first, second = (strides, 1) if downsample_in == "1x1" else (1, strides)
    residual = conv_bn(x, impl, width, 1, first, f"{name}_conv1")
    residual = conv_bn(residual, impl, width, 3, second, f"{name}_conv2")
    residual = conv_bn(residual, impl, width * BOTTLENECK_EXPANSION, 1, 1, f"{name}_conv3", relu=False)
    return _merge(x, residual, impl, strides, name, shortcut)


def _merge(x, residual, impl, strides: int, name: str, shortcut):
    """residual + shortcut(x) -> ReLU; the shortcut is the identity unless the shape changes."""
    if strides != 1 or x.shape[-1] != residual.shape[-1]:
        if shortcut is None:  # projection (option B)
            x = conv_bn(x, impl, residual.shape[-1], 1, strides, f"{name}_proj", relu=False)
        else:
            x = shortcut(residual.shape[-1], strides, name=f"{name}_shortcut")(x)
    x = keras.layers.Add(name=f"{name}_add")([x, residual])
    return keras.layers.ReLU(name=f"{name}_out")(x)


def build_imagenet(
    inputs, num_classes: int, impl: Impl, depth: int = 50, downsample_in: str = "3x3", head: str = "gap"
):
    """ResNet-18, 34, 50, 101 or 152 for ImageNet-sized inputs.

    `downsample_in`: where a bottleneck block that halves the size strides: "3x3" (torchvision,
    "ResNet v1.5") or "1x1" (the paper's Caffe model and Keras Applications' ResNet50).
    `head`: "gap" (global average pooling and the logits) or "none" (the last stage's maps)."""
    blocks.check_choice("depth", depth, tuple(LAYOUTS))
    blocks.check_choice("downsample_in", downsample_in, ("3x3", "1x1"))
    blocks.check_choice("head", head, ("gap", "none"))
    layout, kind = LAYOUTS[depth]
    block = basic_block if kind == "basic" else functools.partial(bottleneck_block, downsample_in=downsample_in)
    x = blocks.apply(impl.padded_conv2d(64, 7, padding=3, strides=2, use_bias=False, name="conv1"), inputs)
    x = keras.layers.ReLU(name="conv1_relu")(batch_norm("conv1_bn")(x))
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)  # zeros are below every ReLU output
    x = impl.MaxPooling2D(3, 2, name="pool1")(x)
    for stage, (count, width) in enumerate(zip(layout, STAGE_WIDTHS), start=2):
        for index in range(1, count + 1):
            strides = 2 if index == 1 and stage > 2 else 1
            x = block(x, impl, width, strides, f"stage{stage}_block{index}")
    if head == "none":
        return x
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.layers.Dense(num_classes, name="logits")(x)


@keras.saving.register_keras_serializable(package="pipeline.models")
class SubsampleShortcut(keras.layers.Layer):
    """Option A shortcut: keep every `strides`-th pixel, zero-pad channels up to `filters`."""

    def __init__(self, filters: int, strides: int, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = filters, strides

    def call(self, inputs):
        x = inputs[:, :: self.strides, :: self.strides, :]
        extra = self.filters - inputs.shape[-1]
        return keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    def compute_output_shape(self, input_shape):
        spatial = [None if n is None else -(-n // self.strides) for n in input_shape[1:3]]
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


def build_cifar(inputs, num_classes: int, impl: Impl, blocks_per_stage: int = 3):
    """The CIFAR ResNet with 6n+2 layers (n = `blocks_per_stage`; 3 gives ResNet-20)."""
    x = conv_bn(inputs, impl, 16, 3, 1, "conv1")
    for stage, width in enumerate((16, 32, 64), start=2):
        for index in range(1, blocks_per_stage + 1):
            strides = 2 if index == 1 and stage > 2 else 1
            x = basic_block(x, impl, width, strides, f"stage{stage}_block{index}", shortcut=SubsampleShortcut)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.layers.Dense(num_classes, name="logits")(x)
