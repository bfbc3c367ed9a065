"""Multiply-accumulates per example: single layers counted by hand, and the published figures of
ResNet-50 (torchvision: 4.09 G at 224x224) and VGG-16 (15.47 G)."""

import keras
import pytest

import layers
from pipeline.models import IMPLS, build_model, flops
from tests.models.helpers import alone


def one(layer, input_shape) -> int:
    return flops(alone(layer, input_shape))


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_single_layers_by_hand(impl):
    conv = IMPLS[impl]
    # A 3x3 conv from 4 to 8 channels on 10x10, stride 2, "same": 5x5 outputs, each 3 * 3 * 4 MACs per filter.
    assert one(conv.Conv2D(8, 3, strides=2, padding="same"), (10, 10, 4)) == 5 * 5 * 8 * (3 * 3 * 4)
    assert one(conv.Conv1D(6, 5), (20, 3)) == 16 * 6 * (5 * 3)
    # Dense: one MAC per weight; on a sequence, per position.
    assert one(keras.layers.Dense(10), (84,)) == 84 * 10
    assert one(keras.layers.Dense(10), (7, 84)) == 7 * 84 * 10
    # Transposed: each input position spreads its vector through the whole kernel.
    assert one(conv.Conv2DTranspose(2, 3, strides=2), (4, 4, 5)) == 4 * 4 * 5 * (3 * 3 * 2)
    # Pooling, activations and normalization count nothing.
    assert one(conv.MaxPooling2D(2), (8, 8, 3)) == 0


def test_locally_connected_and_nested_models():
    # One kernel per output position, each used once: 8 x 8 positions x (3 x 3 x 2) x 4.
    assert one(layers.LocallyConnected2D(4, 3), (10, 10, 2)) == 8 * 8 * (3 * 3 * 2) * 4
    inner = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3)])
    outer = keras.Sequential([keras.Input((6, 6, 1)), inner, keras.layers.Flatten(), keras.layers.Dense(3)])
    assert flops(outer) == 4 * 4 * 2 * 9 + 32 * 3


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_published_figures(impl):
    assert flops(build_model("resnet50", (224, 224, 3), 1000, impl=impl)) == pytest.approx(4.09e9, rel=0.01)
    assert flops(build_model("vgg16", (224, 224, 3), 1000, impl=impl)) == pytest.approx(15.47e9, rel=0.01)
