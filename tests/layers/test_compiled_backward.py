"""The Lp-pooling and maxout backward passes XLA compiles inside a `tf.function` give the same
gradients as the same ops run eagerly (ties included: after a ReLU most windows of zeros tie),
and the traced graph holds the compiled call."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import layers
from tests.layers.helpers import assert_close, layer_grads


def _ties(rng, shape):
    """Rounded, ReLU'd values: many windows hold equal maxima (zeros and repeats)."""
    return np.maximum(np.round(rng.standard_normal(shape), 1), 0).astype(np.float32)


@pytest.mark.parametrize(
    "layer",
    [layers.LpPooling2D(3, 2, "same"), layers.Maxout(3)],
    ids=["lp", "maxout"],
)
def test_compiled_and_eager_backward_agree(layer):
    rng = np.random.default_rng(1)
    x = _ties(rng, (2, 7, 9, 6))
    upstream = rng.standard_normal(layer.compute_output_shape(x.shape)).astype(np.float32)
    eager, graph = layer_grads(layer, x, upstream), layer_grads(layer, x, upstream, graph=True)
    for what, a, e in zip(["output", "d_input"], graph, eager):
        assert_close(a, e, 1e-5, what)


def test_the_traced_gradient_calls_an_xla_compiled_function():
    layer = layers.LpPooling2D(2)

    @tf.function
    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, x)

    graph = grad.get_concrete_function(tf.TensorSpec((4, 8, 8, 3))).graph
    compiled = [op for op in graph.get_operations() if op.node_def.attr["_XlaMustCompile"].b]
    assert compiled, [op.type for op in graph.get_operations()]


def test_mixed_precision_backward_compiles():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        layer = layers.Maxout(3)
        x = _ties(np.random.default_rng(2), (2, 6, 6, 6))
        y, dx = layer_grads(layer, x, np.ones((2, 6, 6, 3), np.float32), graph=True)
        assert y.dtype == np.float16 and dx.shape == x.shape and np.isfinite(dx).all()
        assert dx.sum() == pytest.approx(2 * 6 * 6 * 3)  # every group's gradient went to one input
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


@pytest.mark.parametrize("units", [4, 1], ids=["3-pieces", "12-pieces"])
@pytest.mark.parametrize("graph", [False, True], ids=["eager", "compiled"])
def test_maxout_gives_a_tie_to_the_first_maximum(graph, units):
    """Against NumPy: each group's gradient lands on the first of its tied maxima, nowhere else."""
    rng = np.random.default_rng(2)
    x = _ties(rng, (2, 5, 5, 12))
    upstream = rng.standard_normal((2, 5, 5, units)).astype(np.float32)
    groups = x.reshape(2, 5, 5, units, 12 // units)
    expected = np.zeros_like(groups)
    first = groups.argmax(axis=-1)  # NumPy's argmax: the first maximum
    np.put_along_axis(expected, first[..., None], upstream[..., None], axis=-1)
    assert (groups == groups.max(axis=-1, keepdims=True)).sum(axis=-1).max() > 1, "the input must hold ties"
    _, d_input = layer_grads(layers.Maxout(units), x, upstream, graph=graph)
    assert_close(d_input, expected.reshape(x.shape), 1e-6, "d_input")
