"""Hand-written backward passes against numerical gradients (float64, central differences).

Thirty small configurations per family, including the layers and padding modes Keras lacks.
"""

import numpy as np
import pytest
import tensorflow as tf

from layers import ops
from tests.layers.helpers import tie_free

N_CONFIGS = 30
MAX_ERROR = 1e-6


def _max_jacobian_error(fn, *args):
    args = [tf.constant(a, tf.float64) for a in args]
    theoretical, numerical = tf.test.compute_gradient(fn, args, delta=1e-6)
    return max(float(np.abs(t - n).max(initial=0.0)) for t, n in zip(theoretical, numerical))


def _configs(seed, make):
    rng = np.random.default_rng(seed)
    return [make(rng, i) for i in range(N_CONFIGS)]


def _case(rng, spatial, kernel, stride, padding, dilation) -> dict:
    """Two-channel input and a 2 -> 2 kernel of the given geometry, with the op's arguments."""
    return dict(
        x=rng.standard_normal((1, *spatial, 2)),
        k=rng.standard_normal((*kernel, 2, 2)),
        strides=stride,
        padding=padding,
        dilation_rate=dilation,
    )


def _conv_config(rng, i):
    rank = 1 + i % 3
    kernel = tuple(int(k) for k in rng.integers(1, 4, rank))
    stride = int(rng.integers(1, 3))
    dilation = 1 if stride > 1 else int(rng.integers(1, 3))
    padding = [("valid"), ("same"), ("full"), int(rng.integers(0, 3))][i % 4]
    spatial = tuple(int((k - 1) * dilation + 1 + rng.integers(0, 3)) for k in kernel)
    return _case(rng, spatial, kernel, stride, padding, dilation)


def _transpose_config(rng, i):
    """A transposed conv whose padding is the i-th of valid, same, full, 1: shapes are drawn again
    until that padding is possible for them (a full or explicit crop needs a large enough output)."""
    rank, padding = 1 + i % 3, ["valid", "same", "full", 1][i % 4]
    for _ in range(100):
        kernel = tuple(int(k) for k in rng.integers(1, 4, rank))
        stride = int(rng.integers(1, 4))
        dilation = 1 if stride > 1 else int(rng.integers(1, 3))
        spatial = tuple(int(rng.integers(2, 4)) for _ in kernel)
        try:
            ops.transpose_geometry(spatial, kernel, stride, padding, None, dilation)
        except ValueError:
            continue
        return _case(rng, spatial, kernel, stride, padding, dilation)
    raise AssertionError(f"no valid transposed-conv shape for padding={padding!r} in 100 draws")


def _pool_config(rng, i):
    rank = 1 + i % 3
    pool = tuple(int(k) for k in rng.integers(1, 4, rank))
    strides = tuple(int(rng.integers(1, p + 2)) for p in pool)
    spatial = tuple(int(p + rng.integers(0, 3)) for p in pool)
    return dict(
        x=tie_free(rng, (1, *spatial, 2)) + 0.5, pool_size=pool, strides=strides, padding=["valid", "same"][i % 2]
    )


@pytest.mark.parametrize("c", _configs(10, _conv_config), ids=lambda c: f"{c['x'].shape}-{c['k'].shape}-{c['padding']}")
def test_conv(c):
    fn = lambda x, k: ops.conv(x, k, c["strides"], c["padding"], c["dilation_rate"])
    assert _max_jacobian_error(fn, c["x"], c["k"]) < MAX_ERROR


@pytest.mark.parametrize(
    "c", _configs(11, _transpose_config), ids=lambda c: f"{c['x'].shape}-{c['k'].shape}-{c['padding']}"
)
def test_conv_transpose(c):
    fn = lambda x, k: ops.conv_transpose(x, k, c["strides"], c["padding"], None, c["dilation_rate"])
    assert _max_jacobian_error(fn, c["x"], c["k"]) < MAX_ERROR


@pytest.mark.parametrize("pool", [ops.max_pool, ops.avg_pool, ops.lp_pool], ids=["max", "avg", "lp"])
@pytest.mark.parametrize(
    "c", _configs(12, _pool_config), ids=lambda c: f"{c['x'].shape}-{c['pool_size']}-{c['strides']}"
)
def test_pooling(pool, c):
    fn = lambda x: pool(x, c["pool_size"], c["strides"], c["padding"])
    assert _max_jacobian_error(fn, c["x"]) < MAX_ERROR


def _local_config(rng, i):
    rank = 1 + i % 2
    kernel = tuple(int(k) for k in rng.integers(1, 4, rank))
    strides = int(rng.integers(1, 3))
    spatial = tuple(int(k + rng.integers(0, 3)) for k in kernel)
    out = [(n - k) // strides + 1 for n, k in zip(spatial, kernel)]
    return dict(
        x=rng.standard_normal((1, *spatial, 2)),
        k=rng.standard_normal((int(np.prod(out)), int(np.prod(kernel)) * 2, 3)),
        kernel_size=kernel,
        strides=strides,
    )


@pytest.mark.parametrize("c", _configs(13, _local_config), ids=lambda c: f"{c['x'].shape}-{c['kernel_size']}")
def test_locally_connected(c):
    fn = lambda x, k: ops.local_conv(x, k, c["kernel_size"], c["strides"])
    assert _max_jacobian_error(fn, c["x"], c["k"]) < MAX_ERROR


@pytest.mark.parametrize("i", range(N_CONFIGS))
def test_maxout(i):
    rng = np.random.default_rng(100 + i)
    units = int(rng.integers(1, 4))
    x = tie_free(rng, (2, int(rng.integers(1, 4)), units * int(rng.integers(1, 4))))
    assert _max_jacobian_error(lambda x: ops.maxout(x, units), x) < MAX_ERROR


@pytest.mark.parametrize("i", range(N_CONFIGS))
def test_max_unpool(i):
    rng = np.random.default_rng(200 + i)
    size = int(rng.integers(1, 4))
    shape = (2, size * int(rng.integers(1, 4)), size * int(rng.integers(1, 4)), int(rng.integers(1, 3)))
    _, indices = ops.max_pool_with_argmax(tie_free(rng, shape), size)
    x = rng.standard_normal(indices.shape)
    assert _max_jacobian_error(lambda x: ops.max_unpool(x, indices, shape[1:]), x) < MAX_ERROR


@pytest.mark.parametrize("mode", ["nearest", "bed_of_nails"])
@pytest.mark.parametrize("i", range(N_CONFIGS // 2))
def test_upsample(mode, i):
    rng = np.random.default_rng(300 + i)
    x = rng.standard_normal((2, int(rng.integers(1, 4)), int(rng.integers(1, 4)), 2))
    size = tuple(int(s) for s in rng.integers(1, 4, 2))
    assert _max_jacobian_error(lambda x: ops.upsample(x, size, mode), x) < MAX_ERROR
