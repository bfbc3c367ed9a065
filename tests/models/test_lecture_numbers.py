"""The lecture's weight counts and parameter tables (Louppe, Deep Learning, lecture 3, and the
other notes the Layers page's table names), counted on layers and models
built from our layers and from keras.layers: every row of the tables that has weights, not only
their totals."""

from collections import Counter

import keras
import pytest

from pipeline.models import IMPLS, build_model
from tests.models import lecture_tables
from tests.models.helpers import alone, trainable_count


def count(layer, input_shape) -> int:
    return trainable_count(alone(layer, input_shape))


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_the_weight_counts_of_the_notes(impl):
    conv = IMPLS[impl]
    # 000: 25 units fully connected to a 7x7 image, 25 x (7 x 7 + 1) = 1250; one 3x3 filter: 3 x 3 + 1 = 10.
    assert count(keras.layers.Dense(25), (49,)) == 1250
    assert count(conv.Conv2D(1, 3), (7, 7, 1)) == 10
    # 002: "too many parameters", 100 x 784 + 100.
    assert count(keras.layers.Dense(100), (784,)) == 100 * 784 + 100
    # 004: one fully connected neuron reads 28 x 28 x 3 = 2352 pixels, 270,000 at 300 x 300 x 3; a conv
    # layer's count does not depend on the input: 4 kernels of 3 x 3 are 3 * 3 * 4 = 36 weights at any size.
    assert count(keras.layers.Dense(1, use_bias=False), (28 * 28 * 3,)) == 2352
    assert count(keras.layers.Dense(1, use_bias=False), (300 * 300 * 3,)) == 270_000
    assert {count(conv.Conv2D(4, 3, use_bias=False), (n, n, 1)) for n in (7, 28, 300)} == {36}
    # 003: 24 filters of 2 x 2 "= 24 * 4 = 96" counts one channel and no bias; on its RGB input the
    # layer has 24 x (2 x 2 x 3 + 1) = 312.
    assert count(conv.Conv2D(24, 2, use_bias=False), (128, 128, 1)) == 96
    assert count(conv.Conv2D(24, 2), (128, 128, 3)) == 312


def rows(model: keras.Model) -> list[tuple[str, tuple, int]]:
    """(layer kind, output shape, trainable parameters) of every layer that has weights, in order."""
    found = []
    for layer in model.layers:
        n = trainable_count(layer)
        if n:
            found.append((type(layer).__name__, tuple(layer.output.shape[1:]), n))
    return found


@pytest.mark.parametrize(
    "name, shape, classes, table",
    [
        ("lenet5", (32, 32, 1), 10, lecture_tables.LENET5),
        ("alexnet", (224, 224, 3), 1000, lecture_tables.ALEXNET),
        ("vgg16", (224, 224, 3), 1000, lecture_tables.VGG16),
    ],
    ids=["lenet5", "alexnet", "vgg16"],
)
@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_every_row_of_the_parameter_tables(name, shape, classes, table, impl):
    assert rows(build_model(name, shape, classes, impl=impl)) == table


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_every_row_the_notes_print_of_resnet50(impl):
    """Each printed row is a layer of ours (as many times as printed). Keras lists a block's
    shortcut conv between the last conv and its normalization, so only the stem and the head are
    compared in order."""
    ours = rows(build_model("resnet50", (224, 224, 3), 1000, impl=impl))
    assert len(ours) == 107  # 53 convolutions, 53 batch normalizations, the classifier
    assert not Counter(lecture_tables.RESNET50) - Counter(ours)
    assert ours[:7] == lecture_tables.RESNET50[:7] and ours[-3:] == lecture_tables.RESNET50[-3:]
