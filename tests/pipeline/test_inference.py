"""Batched inference against the model called directly, and its per-model traced functions."""

import gc
import weakref

import keras
import numpy as np

from pipeline import inference


def small_model(classes: int = 3) -> keras.Model:
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(classes)])


def test_batched_probabilities_equal_the_softmax_of_one_call():
    model, x = small_model(), np.random.default_rng(0).random((10, 4)).astype("float32")
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(model(x)))
    np.testing.assert_allclose(inference.probabilities(model, x, batch_size=3), expected, rtol=1e-5, atol=1e-6)
    assert [list(i) for i in inference.index_batches(5, 2)] == [[0, 1], [2, 3], [4]]


def test_new_weights_need_no_retrace_and_the_cache_keeps_no_model_alive():
    model, x = small_model(), np.ones((2, 4), np.float32)
    before = inference.probabilities(model, x)
    model.set_weights([np.zeros((4, 3), np.float32), np.array([0.0, 0.0, 5.0], np.float32)])
    after = inference.probabilities(model, x)
    assert not np.allclose(before, after) and np.argmax(after, axis=-1).tolist() == [2, 2]
    assert inference.traced(model, inference._scores).experimental_get_tracing_count() == 1
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None
