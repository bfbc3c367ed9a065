"""Gradients only where asked: the traced graph of a gradient holds only the VJPs it needs, and the
routing changes no gradient (first order across a tf.function boundary, and second order)."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import layers
from tests.layers.helpers import assert_close

VJPS = {"input_vjp", "kernel_vjp", "bias_vjp"}
CASES = {
    "conv1d": (lambda: layers.Conv1D(4, 3, padding="same"), (2, 10, 3)),
    "conv2d_s2": (lambda: layers.Conv2D(4, 3, strides=2, padding="same"), (2, 9, 9, 3)),
    "conv2d_dilated": (lambda: layers.Conv2D(4, 3, dilation_rate=2), (2, 9, 9, 3)),
    "conv3d": (lambda: layers.Conv3D(2, 3), (1, 5, 5, 5, 2)),
    "conv2d_one_window": (lambda: layers.Conv2D(4, 5), (2, 5, 5, 3)),  # a matrix product
    "conv2d_transpose": (lambda: layers.Conv2DTranspose(4, 3, strides=2), (2, 5, 5, 3)),
    "conv3d_transpose": (lambda: layers.Conv3DTranspose(2, 3, strides=2, padding="same"), (1, 3, 3, 3, 2)),
    "local2d": (lambda: layers.LocallyConnected2D(4, 3), (2, 6, 6, 3)),
}
WANTED = {
    "input": {"input_vjp"},  # attacks, saliency, DeepDream: no weight gradient
    "weights": {"kernel_vjp", "bias_vjp"},  # the first layer in training: no input gradient
    "both": VJPS,
}


def traced_vjps(layer, x: tf.Tensor, wrt: str) -> set[str]:
    """The VJP name scopes in the traced graph of d(loss)/d(wrt)."""

    @tf.function
    def gradient(x):
        with tf.GradientTape(watch_accessed_variables=wrt != "input") as tape:
            if wrt != "weights":
                tape.watch(x)
            loss = tf.reduce_sum(layer(x) ** 2)
        return tape.gradient(loss, {"input": [x], "weights": layer.trainable_weights}.get(wrt, [x, *layer.weights]))

    graph = gradient.get_concrete_function(x).graph
    scopes = (re.match(r"(?:.*/)?([a-z]+_vjp)(?:_\d+)?/", op.name) for op in graph.get_operations())
    return {m.group(1) for m in scopes if m}


@pytest.mark.parametrize("wrt", sorted(WANTED))
@pytest.mark.parametrize("case", sorted(CASES))
def test_graph_holds_only_the_vjps_asked_for(case, wrt):
    make, shape = CASES[case]
    layer = make()
    x = tf.random.stateless_normal(shape, seed=(1, 2))
    layer(x)
    assert traced_vjps(layer, x, wrt) == WANTED[wrt]


def test_eager_tape_runs_only_the_input_vjp(monkeypatch):
    ran = []
    original = layers.ops.convolution._kernel_vjp
    monkeypatch.setattr(layers.ops.convolution, "_kernel_vjp", lambda *a: ran.append("kernel") or original(*a))
    layer = layers.Conv2D(4, 3)
    x = tf.random.stateless_normal((2, 7, 7, 3), seed=(3, 4))
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x) ** 2)
    tape.gradient(loss, x)
    assert ran == []
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    tape.gradient(loss, layer.trainable_weights)
    assert ran == ["kernel"]


def twins(seed: int = 0):
    """A two-layer model from our layers and its keras.layers twin with the same weights."""
    ours = keras.Sequential([layers.Conv2D(4, 3, strides=2, activation="tanh"), layers.Conv2DTranspose(2, 3)])
    theirs = keras.Sequential(
        [keras.layers.Conv2D(4, 3, strides=2, activation="tanh"), keras.layers.Conv2DTranspose(2, 3)]
    )
    x = tf.random.stateless_normal((2, 9, 9, 3), seed=(seed, 5))
    ours(x), theirs(x)
    theirs.set_weights(ours.get_weights())
    return ours, theirs, x


def test_outer_tape_through_a_tf_function_gets_every_gradient():
    """Symbolic differentiation of a traced call (no tape inside) still gets input and weights."""
    results = []
    for model in twins()[:2]:
        x = twins()[2]
        forward = tf.function(lambda x, model=model: tf.reduce_sum(model(x) ** 2))
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = forward(x)
        results.append(tape.gradient(loss, [x, *model.trainable_weights]))
    for ours, theirs in zip(*results):
        assert_close(ours, theirs, 1e-4)


def test_second_order_gradient_penalty_matches_autodiff():
    """d/dW of ||dL/dx||^2 (a gradient penalty) flows through the hand-written VJPs."""
    ours, theirs, x = twins(1)
    penalties = []
    for model in (ours, theirs):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                loss = tf.reduce_sum(model(x) ** 2)
            penalty = tf.reduce_sum(inner.gradient(loss, x) ** 2)
        penalties.append([penalty, *outer.gradient(penalty, model.trainable_weights)])
    for a, b in zip(*penalties):
        assert np.isfinite(np.asarray(a)).all()
        assert_close(a, b, 1e-4)
