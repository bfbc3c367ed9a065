"""The fast paths inside our custom gradients (TensorFlow's backprop kernels) against the formulas
`layers.ops` keeps as the reference, where Keras cannot be the reference: ties in max-pooling
(after a ReLU most windows of zeros tie), dilation with `full` and explicit padding, mixed
precision; and which kernel each case runs, with the guards for the kernels' traps."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

import layers
from layers import ops
from tests.layers.configs import pool_configs
from tests.layers.helpers import assert_close, layer_grads

RANKS = [1, 2, 3]


def _ties(rng, shape):
    """Rounded, ReLU'd values: many windows hold equal maxima (zeros and repeats)."""
    return np.maximum(np.round(rng.standard_normal(shape), 1), 0).astype(np.float32)


def _first_max_grad_numpy(x, pool_size, strides, upstream):
    """Max-pooling's gradient by its definition ("valid" windows): each window's gradient on its
    first maximum in row-major order."""
    out = np.zeros_like(x)
    for index in np.ndindex(upstream.shape[:-1]):
        n, o = index[0], index[1:]
        window = tuple(slice(i * s, i * s + k) for i, s, k in zip(o, strides, pool_size))
        for c in range(x.shape[-1]):
            values = x[(n, *window, c)]
            first = np.unravel_index(np.argmax(values), values.shape)
            out[(n, *[w.start + f for w, f in zip(window, first)], c)] += upstream[(*index, c)]
    return out


@pytest.mark.parametrize("config", pool_configs("max", 23) + pool_configs("avg", 24), ids=str)
def test_pooling_gradient_with_ties_equals_the_reference_formula(config):
    kw = dict(pool_size=config["pool"], strides=config["strides"], padding=config["padding"])
    rng = np.random.default_rng(0)
    x = tf.constant(_ties(rng, config["shape"]))
    pool = ops.max_pool if config["kind"] == "max" else ops.avg_pool
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = pool(x, **kw)
    upstream = tf.constant(rng.standard_normal(y.shape).astype(np.float32))
    actual = tape.gradient(y, x, upstream)
    if config["kind"] == "max":
        expected = ops.max_pool_grad_reference(x, y, upstream, **kw)
    else:
        expected = ops.avg_pool_grad_reference(x, upstream, **kw)
    assert_close(actual, expected, 1e-6, "d_input")


@pytest.mark.parametrize("rank", RANKS)
def test_max_pooling_gives_a_tie_to_the_first_maximum_in_every_rank(rank):
    """Against NumPy. TensorFlow's MaxPool3DGrad on this CPU gives it to every tied maximum; our
    3D pooling runs as two 2D poolings, which keep the first."""
    rng = np.random.default_rng(rank)
    pool_size, strides = (2, 3, 2)[:rank], (2, 1, 2)[:rank]
    x = _ties(rng, (2, *[7] * rank, 3))
    layer = getattr(layers, f"MaxPooling{rank}D")(pool_size, strides)
    upstream = rng.standard_normal(layer.compute_output_shape(x.shape)).astype(np.float32)
    for graph in (False, True):
        _, d_input = layer_grads(layer, x, upstream, graph=graph)
        assert_close(d_input, _first_max_grad_numpy(x, pool_size, strides, upstream), 1e-6, f"graph={graph}")


def _conv_case(rng, rank):
    kernel = tuple(int(k) for k in rng.integers(2, 4, rank))
    dilation = int(rng.integers(1, 4))
    stride = 1 if dilation > 1 else int(rng.integers(1, 4))
    padding = rng.choice(["valid", "same", "full", "explicit"])
    if padding == "explicit":
        padding = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(rank))
    spatial = tuple(int((k - 1) * dilation + 1 + rng.integers(0, 6)) for k in kernel)
    shape = (int(rng.integers(1, 4)), *spatial, int(rng.integers(1, 5)))
    geometry = dict(strides=stride, padding=padding, dilation_rate=dilation)
    return shape, (*kernel, shape[-1], int(rng.integers(1, 5))), geometry


def _one_by_one_case(rng, rank):
    """A 1x1 kernel: the matrix-product path, or (strided 3D) Conv3DBackpropFilterV2, with as few
    input channels as oneDNN's 2D overrun needs and more."""
    stride = int(rng.integers(1, 4))
    padding = rng.choice(["valid", "same", "explicit"])
    if padding == "explicit":
        padding = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(rank))
    shape = (int(rng.integers(1, 4)), *[int(n) for n in rng.integers(1, 10, rank)], int(rng.choice([1, 4, 17])))
    geometry = dict(strides=stride, padding=padding, dilation_rate=1)
    return shape, (*[1] * rank, shape[-1], int(rng.integers(1, 5))), geometry


@pytest.mark.parametrize("seed", range(78))
def test_conv_vjps_equal_the_reference_formulas(seed):
    """Dilation, `full` and explicit (asymmetric) padding: what Keras cannot express; 1x1 kernels
    from seed 60 on."""
    rng = np.random.default_rng(seed)
    case = _conv_case if seed < 60 else _one_by_one_case
    shape, kernel_shape, geometry = case(rng, RANKS[seed % 3])
    x = tf.constant(rng.standard_normal(shape).astype(np.float32))
    kernel = tf.constant(rng.standard_normal(kernel_shape).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = ops.conv(x, kernel, **geometry)
    upstream = tf.constant(rng.standard_normal(y.shape).astype(np.float32))
    d_input, d_kernel = tape.gradient(y, [x, kernel], upstream)
    assert_close(d_kernel, ops.conv_kernel_vjp_reference(x, upstream, kernel_shape, **geometry), 1e-5, "d_kernel")
    assert_close(d_input, ops.conv_input_vjp_reference(upstream, kernel, shape, **geometry), 1e-5, "d_input")


def _traced_op_types(fn, *specs) -> set[str]:
    """Op types of a traced function, the custom gradients' function bodies included."""
    graph = tf.function(fn).get_concrete_function(*specs).graph
    types = {op.type for op in graph.get_operations()}
    for function in graph._functions.values():
        types |= {node.op for node in function.definition.node_def}
    return types


def _kernel_grad_ops(rank, kernel_size, strides=1, dilation=1, channels=3):
    x = tf.TensorSpec((2, *[9] * rank, channels))
    kernel = tf.Variable(tf.zeros((*[kernel_size] * rank, channels, 4)))

    def grad(x):
        with tf.GradientTape() as tape:
            y = ops.conv(x, kernel, strides, "same", dilation)
        return tape.gradient(y, kernel)

    return _traced_op_types(grad, x)


@pytest.mark.parametrize("rank", RANKS)
def test_the_kernel_gradient_runs_tensorflows_backprop_filter_kernel(rank):
    expected = "Conv3DBackpropFilterV2" if rank == 3 else "Conv2DBackpropFilter"
    for strides, dilation in [(1, 1), (2, 1), (1, 2)]:
        assert expected in _kernel_grad_ops(rank, 3, strides, dilation), (strides, dilation)


@pytest.mark.parametrize("rank", RANKS)
def test_a_1x1_kernel_gradient_is_a_matrix_product_never_onednns_2d_filter_gradient(rank):
    """oneDNN's 2D kernel gradient of a strided 1x1 convolution with few channels writes past its
    buffer (test_onednn_case.py trains that case): a 1D or 2D 1x1 kernel's gradient is one MatMul,
    and so is a 3D one at stride 1; a strided 3D one runs Conv3DBackpropFilterV2."""
    strided = _kernel_grad_ops(rank, 1, strides=2, channels=4)
    if rank == 3:
        assert "Conv3DBackpropFilterV2" in strided and "MatMul" not in strided, strided
    else:
        assert "MatMul" in strided and not any("BackpropFilter" in t for t in strided), strided
    unit = _kernel_grad_ops(rank, 1, strides=1, channels=4)
    assert "MatMul" in unit and not any("BackpropFilter" in t for t in unit), unit


@pytest.mark.parametrize("rank", RANKS)
def test_pooling_gradients_run_tensorflows_pooling_kernels(rank):
    """MaxPoolGrad in every rank (3D as two 2D poolings), never MaxPool3DGrad; AvgPoolGrad, and
    AvgPool3DGrad in 3D (float32)."""
    spec = tf.TensorSpec((2, *[6] * rank, 3))
    average = "AvgPool3DGrad" if rank == 3 else "AvgPoolGrad"
    for name, grad_op in [("MaxPooling", "MaxPoolGrad"), ("AveragePooling", average)]:
        layer = getattr(layers, f"{name}{rank}D")(2)

        def grad(x, layer=layer):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
            return tape.gradient(y, x)

        types = _traced_op_types(grad, spec)
        assert grad_op in types and "MaxPool3DGrad" not in types, types


@pytest.mark.parametrize("rank", RANKS)
def test_mixed_precision_pooling_gradients(rank):
    """float16 through the 2D kernels in every rank (TensorFlow's 3D pooling takes only float32)."""
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        for cls in (f"MaxPooling{rank}D", f"AveragePooling{rank}D"):
            layer = getattr(layers, cls)(2)
            x = _ties(np.random.default_rng(2), (2, *[6] * rank, 3))
            y, dx = layer_grads(layer, x, np.ones((2, *[3] * rank, 3), np.float32), graph=True)
            assert y.dtype == np.float16 and dx.shape == x.shape and np.isfinite(dx).all()
            assert dx.sum() == pytest.approx(2 * 3**rank * 3)  # every window's gradient, once
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


@pytest.fixture
def op_determinism():
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        tf_config.disable_op_determinism()


@pytest.mark.parametrize("rank", RANKS)
def test_max_pooling_trains_under_xla_with_op_determinism(rank, op_determinism):
    """XLA refuses MaxPoolGrad under op determinism (the pipeline's default): there the gradient is
    the reference formula, equal to the kernel's."""
    layer = getattr(layers, f"MaxPooling{rank}D")(2)
    rng = np.random.default_rng(rank)
    x = _ties(rng, (2, *[6] * rank, 3))
    upstream = rng.standard_normal(layer.compute_output_shape(x.shape)).astype(np.float32)

    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * upstream)
        return tape.gradient(loss, x)

    compiled = tf.function(grad, jit_compile=True)(tf.constant(x))
    assert_close(compiled, grad(tf.constant(x)), 1e-6, "d_input")
