"""GoogLeNet against the paper's Table 1: 22 layers with weights, its widths counted by hand, the
spatial sizes of each stage at 224x224, and its printed total."""

import numpy as np
import pytest

from pipeline.models import build_model

# Table 1 (Szegedy et al. 2015): #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj, per module.
TABLE_1 = [
    (64, 96, 128, 16, 32, 32),
    (128, 128, 192, 32, 96, 64),
    (192, 96, 208, 16, 48, 64),
    (160, 112, 224, 24, 64, 64),
    (128, 128, 256, 24, 64, 64),
    (112, 144, 288, 32, 64, 64),
    (256, 160, 320, 32, 128, 128),
    (256, 160, 320, 32, 128, 128),
    (384, 192, 384, 48, 128, 128),
]


def by_hand(classes: int = 1000) -> int:
    """Weights and biases of Table 1's layers, written out."""
    total, channels = (7 * 7 * 3 * 64 + 64) + (64 * 64 + 64) + (3 * 3 * 64 * 192 + 192), 192
    for ones, reduce3, threes, reduce5, fives, proj in TABLE_1:
        total += channels * (ones + reduce3 + reduce5 + proj) + 9 * reduce3 * threes + 25 * reduce5 * fives
        total += ones + reduce3 + threes + reduce5 + fives + proj  # biases
        channels = ones + threes + fives + proj
    return total + channels * classes + classes


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_googlenet_is_table_1(impl):
    model = build_model("googlenet", (224, 224, 3), 1000, impl=impl)
    assert model.count_params() == by_hand() == 6_998_552
    # Table 1 prints 6.8M in all; its own widths give 2.9% more (its rows drift from them, e.g.
    # inception (4c): 463K printed, 509,440 weights from its widths).
    assert by_hand() / 6.8e6 == pytest.approx(1.029, abs=0.001)
    weighted = [layer.name for layer in model.layers if layer.weights]
    assert len(weighted) == 3 + 9 * 6 + 1  # conv1, conv2 (reduce, 3x3), six convs per module, the classifier
    # The paper's 22 layers: the deepest path, conv1 + conv2's two + two per module + the classifier.
    assert 1 + 2 + 2 * sum(name.endswith("_3x3_conv") for name in weighted) + 1 == 22
    sizes = {name: model.get_layer(f"inception_{name}_output").output.shape[1:] for name in ("3a", "4a", "5b")}
    assert sizes == {"3a": (28, 28, 256), "4a": (14, 14, 512), "5b": (7, 7, 1024)}


def test_googlenet_runs_down_to_its_smallest_input():
    model = build_model("googlenet", (32, 32, 3), 10)  # five halvings: 1x1 before the average pool
    assert model(np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 10)


def aux_head_by_hand(channels: int, classes: int = 1000) -> int:
    """Section 5: 1x1 conv 128 on the pooled 4x4 map, FC 1024, FC classes; weights and biases."""
    return (channels * 128 + 128) + (4 * 4 * 128 * 1024 + 1024) + (1024 * classes + classes)


def test_the_auxiliary_heads_are_section_5s_off_by_default_and_left_out_of_the_predicting_model():
    from pipeline.training.loop import main_model

    model = build_model("googlenet", (224, 224, 3), 1000, impl="keras", aux_heads=True)
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000)] * 3
    assert model.get_layer("aux_4a_pool").output.shape[1:] == (4, 4, 512)  # 5x5/3 average pool of 14x14
    assert model.get_layer("aux_4d_pool").output.shape[1:] == (4, 4, 528)
    assert model.count_params() == by_hand() + aux_head_by_hand(512) + aux_head_by_hand(528)
    assert aux_head_by_hand(512) == 3_188_840
    predictor = main_model(model)
    assert len(predictor.outputs) == 1 and predictor.count_params() == by_hand()
    x = np.random.default_rng(0).random((2, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(predictor(x), model(x)[0], rtol=1e-5, atol=1e-5)  # the same layers
    assert len(build_model("googlenet", (64, 64, 3), 10).outputs) == 1  # off by default


def test_the_auxiliary_pool_shrinks_to_the_map_on_small_inputs():
    model = build_model("googlenet", (32, 32, 1), 10, aux_heads=True)  # 4a's maps: 2x2
    assert model.get_layer("aux_4a_pool").output.shape[1:] == (1, 1, 512)
    assert [o.shape for o in model(np.zeros((2, 32, 32, 1), np.float32))] == [(2, 10)] * 3
