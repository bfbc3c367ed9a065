"""Our layers against their keras.layers counterparts on 200 generated configurations per family.

Same weights: forward outputs and the input, kernel and bias gradients of a random linear
function of the output (TensorFlow autodiff through the Keras layer) agree to 1e-5 relative.
Ours and Keras's forward passes both end in TensorFlow's convolution, so the forward output is
also checked against the NumPy definitions in `reference.py`; our gradients, which run
TensorFlow's backprop kernels, are also checked against the formulas `layers.ops` keeps as the
reference (`conv_kernel_vjp_reference`, `conv_input_vjp_reference`, `max_pool_grad_reference`,
`avg_pool_grad_reference`).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import layers
from layers import ops
from tests.layers import reference
from tests.layers.configs import CONV, POOL, TRANSPOSE, conv_configs, pool_configs, transpose_configs
from tests.layers.helpers import assert_close, layer_grads, tie_free


def _name(config):
    return "-".join(f"{k}{v}" for k, v in config.items()).replace(" ", "")


def _compare(ours, theirs, x, seed, patch_expected=None, numpy_forward=None, formulas=None):
    """`numpy_forward(x, weights)`: the output by definition, checked against ours;
    `formulas(x, weights, upstream)`: the gradients by `layers.ops`'s reference formulas, by name."""
    rng = np.random.default_rng(seed)
    ours.build(x.shape)
    theirs.build(x.shape)
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    upstream = rng.standard_normal(theirs.compute_output_shape(x.shape)).astype(np.float32)
    graph = x.ndim == 5  # TensorFlow's eager Conv3D gradient needs a graph
    expected = layer_grads(theirs, x, upstream, graph=graph)
    actual = layer_grads(ours, x, upstream, graph=graph)
    if patch_expected:
        expected = patch_expected(expected, weights, upstream)
    for what, a, e in zip(["output", "d_input", "d_kernel", "d_bias"], actual, expected):
        assert_close(a, e, 1e-5, what)
    if numpy_forward is not None:
        assert_close(actual[0], numpy_forward(x, weights), 1e-5, "output against NumPy")
    names = ["d_input", "d_kernel"]
    for what, expected in (formulas(x, weights, upstream) if formulas else {}).items():
        assert_close(actual[1 + names.index(what)], expected, 1e-5, f"{what} against the reference formula")


@pytest.mark.parametrize("config", conv_configs(), ids=_name)
def test_conv_matches_keras(config):
    ours_cls, keras_cls = CONV[config["rank"]]
    args = (config["filters"], config["kernel"])
    kw = dict(strides=config["stride"], padding=config["padding"], dilation_rate=config["dilation"])
    x = np.random.default_rng(0).standard_normal(config["shape"]).astype(np.float32)
    theirs = keras_cls(*args, **kw)
    if config["rank"] == 3 and config["padding"] == "same" and config["stride"] > 1:
        # TensorFlow's CPU Conv3D "SAME" is wrong for some strided shapes: pad explicitly.
        pads = [reference.conv_pads(n, k, config["stride"], "same") for n, k in zip(x.shape[1:-1], config["kernel"])]
        theirs = keras.Sequential([keras.layers.ZeroPadding3D(pads), keras_cls(*args, **dict(kw, padding="valid"))])
    rank = config["rank"]

    def numpy_forward(x, weights):
        y = reference.conv(x, weights[0], (config["stride"],) * rank, config["padding"], (config["dilation"],) * rank)
        return y + weights[1]

    def formulas(x, weights, upstream):
        geometry = dict(strides=config["stride"], padding=config["padding"], dilation_rate=config["dilation"])
        return {
            "d_input": ops.conv_input_vjp_reference(upstream, weights[0], x.shape, **geometry),
            "d_kernel": ops.conv_kernel_vjp_reference(x, upstream, weights[0].shape, **geometry),
        }

    _compare(ours_cls(*args, **kw), theirs, x, seed=1, numpy_forward=numpy_forward, formulas=formulas)


# One output position: the conv runs as the fully-connected layer it equals (`layers/_one_window.py`).
ONE_WINDOW = [
    (2, (4, 5, 5, 3), 5, 1, "valid"),  # LeNet's conv3: the kernel covers the input
    (2, (4, 7, 7, 2), 5, 3, "valid"),  # trailing rows no output reads
    (2, (4, 2, 2, 3), 3, 2, "same"),  # padding inside the one window
    (1, (4, 6, 3), 5, 2, "valid"),
    (3, (2, 3, 3, 3, 2), 3, 1, "valid"),
]


@pytest.mark.parametrize("rank, shape, kernel, stride, padding", ONE_WINDOW)
def test_one_window_conv_matches_keras(rank, shape, kernel, stride, padding):
    ours_cls, keras_cls = CONV[rank]
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    kw = dict(strides=stride, padding=padding)
    assert keras_cls(5, kernel, **kw).compute_output_shape(shape)[1:-1] == (1,) * rank
    _compare(ours_cls(5, kernel, **kw), keras_cls(5, kernel, **kw), x, seed=3)


def test_one_window_conv_is_a_matrix_product():
    """LeNet's conv3 (5x5x16 -> 120 on a 5x5 map) traces a MatMul for its forward pass and both
    VJPs, and no convolution op."""
    layer = layers.Conv2D(120, 5)
    x = tf.random.stateless_normal((2, 5, 5, 16), seed=(1, 2))
    layer(x)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) ** 2)
        return tape.gradient(loss, [x, layer.kernel])

    types = [op.type for op in step.get_concrete_function(x).graph.get_operations()]
    assert types.count("MatMul") >= 3, types
    assert not [t for t in types if t.startswith("Conv")], types


@pytest.mark.parametrize("config", transpose_configs(), ids=_name)
def test_conv_transpose_matches_keras(config):
    ours_cls, keras_cls = TRANSPOSE[config["rank"]]
    args = (config["filters"], config["kernel"])
    kw = dict(strides=config["stride"], padding=config["padding"], output_padding=config["output_padding"])
    x = np.random.default_rng(0).standard_normal(config["shape"]).astype(np.float32)

    def numpy_input_grad(expected, weights, upstream):
        # TensorFlow's CPU Conv3D, which its conv3d_transpose gradient calls, is wrong for some
        # strided "SAME" shapes (e.g. kernel (1, 1, 2), stride 3): take dL/dx from NumPy.
        rank = config["rank"]
        d_input = reference.conv(upstream, weights[0], (config["stride"],) * rank, config["padding"], (1,) * rank)
        return [expected[0], d_input, *expected[2:]]

    def numpy_forward(x, weights):
        out_spatial = ours_cls(*args, **kw).compute_output_shape(x.shape)[1:-1]
        y = reference.transpose_forward(
            x, weights[0], out_spatial, (config["stride"],) * config["rank"], config["padding"]
        )
        return y + weights[1]

    def formulas(x, weights, upstream):  # the transposed conv's kernel gradient is the conv's, roles swapped
        geometry = dict(strides=config["stride"], padding=config["padding"])
        return {"d_kernel": ops.conv_kernel_vjp_reference(upstream, x, weights[0].shape, **geometry)}

    patch = numpy_input_grad if config["rank"] == 3 else None
    ours = ours_cls(*args, **kw)
    _compare(ours, keras_cls(*args, **kw), x, 1, patch, numpy_forward=numpy_forward, formulas=formulas)


@pytest.mark.parametrize("config", pool_configs("max", 3) + pool_configs("avg", 4), ids=_name)
def test_pooling_matches_keras(config):
    ours_cls, keras_cls = POOL[(config["kind"], config["rank"])]
    kw = dict(pool_size=config["pool"], strides=config["strides"], padding=config["padding"])
    x = tie_free(np.random.default_rng(0), config["shape"])
    numpy_forward = lambda x, _: reference.pool(x, config["pool"], config["strides"], config["padding"], config["kind"])

    def formulas(x, _, upstream):
        if config["kind"] == "avg":
            return {"d_input": ops.avg_pool_grad_reference(x, upstream, **kw)}
        return {"d_input": ops.max_pool_grad_reference(x, ops.max_pool(x, **kw), upstream, **kw)}

    _compare(ours_cls(**kw), keras_cls(**kw), x, seed=1, numpy_forward=numpy_forward, formulas=formulas)


@pytest.mark.parametrize(
    "rank, kernel, strides, shape",
    [
        (1, (3,), (1,), (2, 9, 3)),
        (1, (2,), (2,), (1, 8, 2)),
        (2, (3, 3), (1, 1), (2, 6, 7, 2)),
        (2, (2, 3), (2, 1), (1, 7, 6, 3)),
        (2, (1, 1), (1, 1), (2, 4, 4, 2)),
    ],
    ids=["1d", "1d-strided", "2d", "2d-strided", "2d-1x1"],
)
def test_locally_connected_forward_matches_numpy(rank, kernel, strides, shape):
    """Keras 3 has no LocallyConnected layer: the forward pass against the definition."""
    layer = (layers.LocallyConnected1D if rank == 1 else layers.LocallyConnected2D)(4, kernel, strides=strides)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    layer.build(x.shape)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    assert_close(layer(x).numpy(), reference.local_conv(x, weights[0], kernel, strides) + weights[1], 1e-5)
