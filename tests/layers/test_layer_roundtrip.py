"""Every layer: config round trip, .keras save/load, output shape, fit, mixed precision, XLA, distribution."""

from collections.abc import Callable
from typing import NamedTuple

import keras
import numpy as np
import pytest
import tensorflow as tf

import layers


class Case(NamedTuple):
    """factory: builds a fresh layer; shape: one example's input; feed: the layer's call arguments
    from a tensor; take: the output the rest of a model reads."""

    factory: Callable
    shape: tuple
    feed: Callable = lambda h: (h,)
    take: Callable = lambda out: out


def _switches(h):
    """What MaxUnpooling2D is called on: a 2x2 max-pool's output and where each maximum was."""
    return layers.MaxPooling2D(2, return_indices=True)(h)


CASES = {
    "Conv1D": (lambda: layers.Conv1D(4, 3, padding="same", activation="relu"), (10, 3)),
    "Conv2D": (lambda: layers.Conv2D(4, 3, strides=2, padding="full"), (9, 9, 2)),
    "Conv3D": (lambda: layers.Conv3D(2, 2, padding=(1, 0, 1)), (4, 4, 4, 2)),
    "Conv1DTranspose": (lambda: layers.Conv1DTranspose(3, 3, strides=2), (5, 2)),
    "Conv2DTranspose": (lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1), (4, 4, 2)),
    "Conv3DTranspose": (lambda: layers.Conv3DTranspose(2, 2, strides=2), (2, 3, 2, 2)),
    "MaxPooling1D": (lambda: layers.MaxPooling1D(2), (8, 3)),
    "MaxPooling2D": (lambda: layers.MaxPooling2D(3, strides=2, padding="same"), (9, 9, 2)),
    "MaxPooling3D": (lambda: layers.MaxPooling3D(2), (4, 4, 4, 2)),
    "AveragePooling1D": (lambda: layers.AveragePooling1D(3, strides=1), (8, 3)),
    "AveragePooling2D": (lambda: layers.AveragePooling2D(2), (8, 8, 2)),
    "AveragePooling3D": (lambda: layers.AveragePooling3D(2, padding="same"), (5, 4, 4, 2)),
    "LpPooling2D": (lambda: layers.LpPooling2D(2), (8, 8, 2)),
    "UpSampling2D": (lambda: layers.UpSampling2D(2, "bed_of_nails"), (4, 4, 2)),
    "LocallyConnected1D": (lambda: layers.LocallyConnected1D(3, 3), (8, 2)),
    "LocallyConnected2D": (lambda: layers.LocallyConnected2D(3, 3, strides=2), (7, 7, 2)),
    "Maxout": (lambda: layers.Maxout(2), (6, 6, 4)),
    "MaxPooling2D_indices": Case(
        lambda: layers.MaxPooling2D(2, return_indices=True), (8, 8, 2), take=lambda out: out[0]
    ),
    "MaxUnpooling2D": Case(lambda: layers.MaxUnpooling2D(2), (8, 8, 2), feed=_switches),
}
CASES = {name: case if isinstance(case, Case) else Case(*case) for name, case in CASES.items()}


def _model(name):
    case = CASES[name]
    inputs = keras.Input(case.shape)
    layer = case.factory()
    layer.name = "under_test"
    hidden = case.take(layer(*case.feed(keras.layers.Dense(case.shape[-1])(inputs))))  # a trainable layer in front
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(hidden))
    return keras.Model(inputs, outputs), case.shape


def _data(shape, n=8):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, *shape)).astype(np.float32), rng.integers(0, 2, n)


@pytest.mark.parametrize("name", CASES)
def test_config_round_trip_and_output_shape(name):
    case = CASES[name]
    layer = case.factory()
    x = np.random.default_rng(0).standard_normal((2, *case.shape)).astype(np.float32)
    args = case.feed(x)
    y = layer(*args)
    outputs = list(y) if isinstance(y, (tuple, list)) else [y]
    shapes = layer.compute_output_shape(*[tuple(a.shape) for a in args])
    shapes = list(shapes) if isinstance(shapes[0], (tuple, list)) else [shapes]
    assert [tuple(s) for s in shapes] == [tuple(o.shape) for o in outputs]
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build(*[tuple(a.shape) for a in args][:1])
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    clone.set_weights(layer.get_weights())
    again = clone(*args)
    for theirs, ours in zip(list(again) if isinstance(again, (tuple, list)) else [again], outputs, strict=True):
        np.testing.assert_allclose(np.asarray(theirs), np.asarray(ours), atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_save_load_and_fit(name, tmp_path):
    model, shape = _model(name)
    x, y = _data(shape)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_jit_compile_gives_the_same_gradients(name):
    model, shape = _model(name)
    x, y = _data(shape)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def grads(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        return tape.gradient(loss, model.trainable_weights)

    eager = grads(x, y)
    compiled = tf.function(grads, jit_compile=True)(x, y)
    for e, c in zip(eager, compiled):
        np.testing.assert_allclose(c.numpy(), e.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_mixed_float16(name):
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    model, shape = _model(name)
    layer = model.get_layer("under_test")
    assert layer.compute_dtype == "float16"
    assert all(w.dtype == "float32" for w in layer.weights)
    x, y = _data(shape)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    case = CASES[name]
    assert case.take(layer(*case.feed(tf.constant(x[:2], tf.float16)))).dtype == tf.float16


@pytest.mark.parametrize("name", CASES)
def test_mirrored_strategy_trains_as_one_device_does(name, mirrored_strategy):
    """Two replicas, each half of every batch, all-reduced: the same weights as one device."""
    keras.utils.set_random_seed(0)
    alone, shape = _model(name)
    with mirrored_strategy.scope():
        mirrored, _ = _model(name)
    start = alone.get_weights()
    mirrored.set_weights(start)
    x, y = _data(shape)
    for model in (alone, mirrored):
        model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    assert any(not np.allclose(a, b) for a, b in zip(alone.get_weights(), start))  # it trained
    for ours, reference in zip(mirrored.get_weights(), alone.get_weights()):
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)


def test_max_unpooling_inverts_max_pooling_positions():
    x = np.random.default_rng(0).permutation(2 * 6 * 6 * 3).reshape(2, 6, 6, 3).astype(np.float32)
    inputs = keras.Input((6, 6, 3))
    pooled, indices = layers.MaxPooling2D(2, return_indices=True)(inputs)
    model = keras.Model(inputs, layers.MaxUnpooling2D(2)(pooled, indices))
    out = model(x).numpy()
    pooled_ref = tf.nn.max_pool(x, 2, 2, "VALID").numpy()
    # Each maximum is back where it was; everything else is zero.
    np.testing.assert_array_equal(np.where(out != 0, x, 0), out)
    np.testing.assert_array_equal(np.sort(out[out != 0]), np.sort(pooled_ref.ravel()))


def test_upsampling_nearest_matches_keras():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(layers.UpSampling2D((2, 3))(x).numpy(), keras.layers.UpSampling2D((2, 3))(x).numpy())
