"""Integrated gradients: the closed form on a linear model, completeness on LeNet-5, the warning
when too few steps break it, and the one-batch bound."""

import logging

import keras
import numpy as np
import pytest

from pipeline.visualize.integrated_gradients import completeness_gap, integrated_gradients
from tests.visualize.helpers import Watching, watched


def linear_model(shape=(6, 5, 2), classes=3, seed=0) -> tuple[keras.Model, np.ndarray]:
    inputs = keras.Input(shape)
    dense = keras.layers.Dense(classes)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    w = np.random.default_rng(seed).normal(size=(int(np.prod(shape)), classes)).astype(np.float32)
    dense.set_weights([w, np.zeros(classes, np.float32)])
    return model, w.reshape(*shape, classes)


def test_on_a_linear_model_it_is_input_minus_baseline_times_weight():
    model, w = linear_model()
    rng = np.random.default_rng(1)
    x, base = rng.random((4, 6, 5, 2), np.float32), rng.random((6, 5, 2), np.float32)
    maps = integrated_gradients(model, x, class_index=2, steps=3, baseline=base, batch_size=5)
    np.testing.assert_allclose(maps, ((x - base) * w[..., 2]).sum(-1), rtol=1e-4, atol=1e-5)


def test_attributions_add_up_to_the_logit_change_on_lenet(digits_lenet):
    x = digits_lenet.x[:6]
    maps = integrated_gradients(digits_lenet.model, x, steps=64)
    classes = np.argmax(digits_lenet.model.predict(x, verbose=0), axis=1)
    assert completeness_gap(digits_lenet.model, x, np.zeros_like(x), maps, classes).max() < 0.05


def test_too_few_steps_warn(digits_lenet, caplog):
    with caplog.at_level(logging.WARNING):
        integrated_gradients(digits_lenet.model, digits_lenet.x[:4], steps=1, tolerance=1e-4)
    assert "raise steps" in caplog.text


def test_the_path_goes_to_the_model_one_batch_at_a_time():
    model, _ = linear_model()
    integrated_gradients(watched(model), np.ones((3, 6, 5, 2), np.float32), steps=10, batch_size=8)
    assert 0 < Watching.largest <= 8  # 3 x 11 points of the path, 8 at a time (f(x), f(x'): 3)


def test_bad_steps_are_refused():
    with pytest.raises(ValueError, match="steps >= 1"):
        integrated_gradients(linear_model()[0], np.zeros((1, 6, 5, 2)), steps=0)
