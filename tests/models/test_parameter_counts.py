"""Trainable parameter counts equal the published tables, for both layer implementations."""

import pytest

from pipeline.models import build_model
from tests.models.helpers import DEEP, trainable_count

# (name, input shape, classes, count): the lecture's tables (torchvision's layouts), and for
# ResNet-20 and All-CNN-C the sums of their layers (the papers say 0.27M and 1.3M).
PUBLISHED = [
    ("lenet5", (32, 32, 1), 10, 61_706),
    ("alexnet", (224, 224, 3), 1000, 61_100_840),
    ("vgg16", (224, 224, 3), 1000, 138_357_544),
    ("resnet50", (224, 224, 3), 1000, 25_557_032),
    ("resnet101", (224, 224, 3), 1000, 44_549_160),  # torchvision's
    ("resnet152", (224, 224, 3), 1000, 60_192_808),
    ("resnet20", (32, 32, 3), 10, 269_722),
    ("googlenet", (224, 224, 3), 1000, 6_998_552),  # Table 1's widths, with biases (test_googlenet.py)
    ("allconv", (32, 32, 3), 10, 1_369_738),
]


@pytest.mark.parametrize(
    "name, shape, classes, count",
    [pytest.param(*p, id=p[0], marks=[pytest.mark.slow] if p[0] in DEEP else []) for p in PUBLISHED],
)
@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_published_counts(name, shape, classes, count, impl):
    assert trainable_count(build_model(name, shape, classes, impl=impl)) == count


def test_resnet_batch_norm_statistics_are_not_trainable():
    model = build_model("resnet50", (224, 224, 3), 1000)
    moving = sum(int(w.shape[0]) for w in model.non_trainable_weights)
    assert moving == sum(int(w.shape[0]) for w in model.trainable_weights if "bn" in w.path and "gamma" in w.path) * 2


@pytest.mark.slow
def test_vgg_depths_come_from_one_definition():
    counts = {d: trainable_count(build_model(f"vgg{d}", (224, 224, 3), 1000)) for d in (11, 13, 19)}
    # torchvision's published totals for configurations A, B and E.
    assert counts == {11: 132_863_336, 13: 133_047_848, 19: 143_667_240}
