"""The Siamese network: one tower for both images (shared weights), a symmetric "same" logit that
falls as the codes move apart, its cost counted once per tower call; the pair objective's loss
against NumPy."""

import keras
import numpy as np
import pytest

from pipeline.models import build_model, flops
from pipeline.training import per_example_loss
from pipeline.training.loop import running_total


@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_twin_towers_share_their_weights_and_the_logit_is_symmetric(impl):
    model = build_model("siamese", (2, 32, 32, 1), 2, impl=impl, embedding=16)
    tower = model.get_layer("lenet5_tower")
    alone = build_model("lenet5", (32, 32, 1), 16, impl=impl)
    assert model.count_params() == alone.count_params() + 2  # one tower, then a scale and a bias
    assert flops(model) == 2 * flops(alone) + 1
    x = np.random.default_rng(0).random((4, 2, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(model(x), model(x[:, ::-1]), rtol=1e-5, atol=1e-5)
    twins = np.repeat(x[:, :1], 2, axis=1)  # both images the same: the largest logit there is
    assert (keras.ops.convert_to_numpy(model(twins)) >= keras.ops.convert_to_numpy(model(x)) - 1e-6).all()
    assert len(tower.trainable_weights) == len(alone.trainable_weights)


def test_a_code_cut_from_the_tower_is_that_layer_flattened_and_the_first_logit_a_mean_square():
    model = build_model("siamese", (2, 32, 32, 1), 2, impl="keras", code="pool2")
    tower = model.get_layer("lenet5_tower")
    assert tower.output.shape[-1] == 5 * 5 * 16
    assert model.count_params() == (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16 + 2  # conv1, conv2, scale, bias
    assert flops(model) == 2 * (28 * 28 * 6 * 25 + 10 * 10 * 16 * 150) + 1
    x = np.random.default_rng(0).random((4, 2, 32, 32, 1)).astype("float32")
    codes = [keras.ops.convert_to_numpy(tower(x[:, i])) for i in (0, 1)]
    expected = -np.mean(np.square(codes[0] - codes[1]), axis=1, keepdims=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), expected, rtol=1e-5, atol=1e-6)


def test_a_code_that_is_not_a_layer_of_the_tower_is_refused_naming_its_layers():
    with pytest.raises(ValueError, match=r"code='pool9' is not a layer of 'lenet5'.*'pool2'"):
        build_model("siamese", (2, 32, 32, 1), 2, code="pool9")


def test_the_pair_loss_is_binary_cross_entropy_of_the_same_logit():
    logits, same = np.array([[2.0], [-1.0], [0.5]], np.float32), np.array([1, 0, 0], np.int32)
    p = 1 / (1 + np.exp(-logits[:, 0]))
    expected = -(same * np.log(p) + (1 - same) * np.log(1 - p))
    np.testing.assert_allclose(per_example_loss("pair", same, logits), expected, rtol=1e-5)
    assert float(running_total("pair", same, logits)) == 2.0


def test_a_tower_that_is_itself_siamese_is_refused():
    with pytest.raises(ValueError, match="single-image architecture"):
        build_model("siamese", (2, 32, 32, 1), 2, tower="siamese")
