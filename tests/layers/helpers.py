"""Shared test helpers: generated configurations, gradients through a layer, comparisons."""

import numpy as np
import tensorflow as tf


def assert_close(actual, expected, tol=1e-5, what=""):
    """Relative closeness: elementwise rtol, with an absolute floor at tol * max|expected|."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


def layer_grads(layer, x, upstream, graph=False):
    """Output and gradients of sum(layer(x) * upstream) w.r.t. x and each trainable weight."""

    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * tf.cast(upstream, y.dtype))
        return [y] + tape.gradient(loss, [x] + layer.trainable_weights)

    fn = tf.function(run) if graph else run
    return [v.numpy() for v in fn(tf.constant(x))]


def onednn_crash_path(kernel_size, strides, in_channels):
    """TensorFlow's oneDNN kernel gradient crashes for 1x1 kernels with stride > 1 (oneDNN#6035)."""
    return all(k == 1 for k in kernel_size) and max(strides) > 1 and in_channels < 16


def tie_free(rng, shape):
    """Distinct values (a permutation), so every pooling window has one maximum."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / np.prod(shape)).astype(np.float32)
