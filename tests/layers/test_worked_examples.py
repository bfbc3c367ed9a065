"""The lecture notes' worked numbers, recomputed through layers.ops: the 1D correlations, the 2x4x4
multi-channel example and the GradientTape demonstrations of Jain, Deep Learning (for Computer
Vision); the 4x4 * 3x3 Toeplitz product of Louppe, Deep Learning, lecture 3."""

import numpy as np
import pytest
import tensorflow as tf

import layers
from layers import ops


def test_1d_correlation_of_the_lecture():
    # 001: I = [1, 2, 3, 4], W = [1, 2, 3] -> O = [14, 20]
    out = ops.conv(tf.reshape([1.0, 2, 3, 4], (1, 4, 1)), tf.reshape([1.0, 2, 3], (3, 1, 1)))
    np.testing.assert_array_equal(out.numpy().ravel(), [14, 20])


def test_1d_backward_of_the_lecture():
    # dL/dW = correlation(I, dL/dO); dL/dI = full correlation of dL/dO with the flipped W.
    x, w, dy = np.array([1.0, 2, 3, 4]), np.array([1.0, 2, 3]), np.array([1.0, 2])
    d_w = ops.conv_kernel_vjp(x.reshape(1, 4, 1), dy.reshape(1, 2, 1), (3, 1, 1)).numpy().ravel()
    d_x = ops.conv_input_vjp(dy.reshape(1, 2, 1), w.reshape(3, 1, 1), (1, 4, 1)).numpy().ravel()
    np.testing.assert_allclose(d_w, [1 * 1 + 2 * 2, 1 * 2 + 2 * 3, 1 * 3 + 2 * 4])
    np.testing.assert_allclose(d_x, [1 * 1, 1 * 2 + 2 * 1, 1 * 3 + 2 * 2, 2 * 3])


def test_two_channel_2x4x4_example():
    # 001: I = 2x4x4, W = 2x2x2x2 (out, in, kH, kW), b = (0.1, 0.2), O = 2x3x3.
    image = np.array(
        [
            [[1, -2, 2, 2], [2, 1, 3, -2], [-2, 3, -3, 1], [-1, 2, -4, 2]],
            [[3, 0, 0, 0], [-2, -2, 1, -1], [2, -1, 3, 1], [5, -2, 0, 1]],
        ],
        dtype=np.float32,
    )
    w = np.zeros((2, 2, 2, 2), np.float32)  # (out, in, kH, kW) as on the slide
    w[0, 0] = [[1, -2], [-2, 1]]
    w[1, 0] = [[3, 1], [2, 2]]
    w[0, 1] = [[1, 0], [0, 1]]
    w[1, 1] = [[0, 0], [0, 4]]
    kernel = w.transpose(2, 3, 1, 0)  # -> (kH, kW, in, out)
    x = image.transpose(1, 2, 0)[None]
    out = ops.bias_add(ops.conv(x, kernel), [0.1, 0.2]).numpy()[0].transpose(2, 0, 1)
    # The slide prints O[1] row 1 column 1 as -3.1; recomputed by hand it is 3.1: a misprinted sign.
    expected_o1 = [[3.1, -3.9, -10.9], [4.1, -12.9, 16.1], [-3.9, 0.1, 9.1]]
    expected_o2 = [[-0.8, 8.2, 6.2], [5.2, 18.2, 7.2], [-8.8, 2.2, -7.8]]
    np.testing.assert_allclose(out[0], expected_o1, atol=1e-5)
    np.testing.assert_allclose(out[1], expected_o2, atol=1e-5)


def test_toeplitz_matrix_of_the_4x4_by_3x3_example():
    # 002: u (3x3) * x (4x4) = [[122, 148], [126, 134]] and the printed 4x16 matrix U.
    u = np.array([[1, 4, 1], [1, 4, 3], [3, 3, 1]], np.float32)
    x = np.array([[4, 5, 8, 7], [1, 8, 8, 8], [3, 6, 6, 4], [6, 5, 7, 8]], np.float32)
    matrix = ops.conv_matrix(u[..., None, None], (4, 4, 1))
    expected = np.array(
        [
            [1, 4, 1, 0, 1, 4, 3, 0, 3, 3, 1, 0, 0, 0, 0, 0],
            [0, 1, 4, 1, 0, 1, 4, 3, 0, 3, 3, 1, 0, 0, 0, 0],
            [0, 0, 0, 0, 1, 4, 1, 0, 1, 4, 3, 0, 3, 3, 1, 0],
            [0, 0, 0, 0, 0, 1, 4, 1, 0, 1, 4, 3, 0, 3, 3, 1],
        ]
    )
    np.testing.assert_array_equal(matrix, expected)
    np.testing.assert_array_equal(matrix @ x.ravel(), [122, 148, 126, 134])
    np.testing.assert_array_equal(
        ops.conv(x[None, ..., None], u[..., None, None]).numpy().ravel(), [122, 148, 126, 134]
    )


@pytest.mark.parametrize(
    "strides,padding,dilation", [(1, "valid", 1), (2, "same", 1), (1, "full", 2), (3, 1, 1), (2, (1, 2), 1)]
)
def test_conv_matrix_matches_conv_and_its_transpose_is_the_input_vjp(strides, padding, dilation):
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 3, 2, 4))
    x = rng.standard_normal((7, 8, 2))
    matrix = ops.conv_matrix(kernel, x.shape, strides, padding, dilation)
    y = ops.conv(x[None], kernel, strides, padding, dilation).numpy()
    np.testing.assert_allclose(matrix @ x.ravel(), y.ravel(), atol=1e-10)
    # "backprop through a conv is multiplication by the transposed matrix"
    dy = rng.standard_normal(y.shape)
    d_x = ops.conv_input_vjp(dy, kernel, (1, *x.shape), strides, padding, dilation).numpy()
    np.testing.assert_allclose(matrix.T @ dy.ravel(), d_x.ravel(), atol=1e-10)


@pytest.mark.parametrize(
    "n,k,s,p,d,m",
    [
        (5, 2, 3, 0, 1, 2),  # 000: M = (5 - 2) / 3 + 1 = 2
        (7, 3, 1, 0, 1, 5),  # M = N - K + 1
        (7, 3, 2, 1, 1, 4),  # floor((7 + 2 - 3) / 2) + 1
        (32, 5, 1, 0, 1, 28),  # LeNet's first conv
        (227, 11, 4, 0, 1, 55),  # AlexNet's first conv
        (10, 3, 1, 0, 2, 6),  # dilation 2: K_eff = 5
        (10, 3, 1, "same", 2, 10),
        (10, 3, 2, "same", 1, 5),
        (10, 3, 1, "full", 1, 12),
    ],
)
def test_output_size_formula(n, k, s, p, d, m):
    assert ops.conv_output_size(n, k, s, p, d) == m
    x = np.zeros((1, n, 1), np.float32)
    assert ops.conv(x, np.zeros((k, 1, 1), np.float32), s, p, d).shape[1] == m


def test_max_pool_gradient_goes_to_the_maximum_of_each_window():
    x = tf.constant([[1.0, 3, 2, 0], [4, 2, 1, 7], [0, 1, 9, 2], [3, 8, 1, 1]])[None, ..., None]
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = ops.max_pool(x, 2)
        loss = tf.reduce_sum(y * tf.constant([[10.0, 20], [30, 40]])[None, ..., None])
    np.testing.assert_array_equal(y.numpy()[0, ..., 0], [[4, 7], [8, 9]])
    expected = np.zeros((4, 4))
    expected[1, 0], expected[1, 3], expected[3, 1], expected[2, 2] = 10, 20, 30, 40
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy()[0, ..., 0], expected)


def test_max_pool_ties_go_to_the_first_maximum_like_tensorflow():
    x = tf.constant([[5.0, 5], [5, 1]])[None, ..., None]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours, theirs = ops.max_pool(x, 2), tf.nn.max_pool(x, 2, 2, "VALID")
    np.testing.assert_array_equal(tape.gradient(ours, x).numpy().ravel(), [1, 0, 0, 0])
    np.testing.assert_array_equal(tape.gradient(ours, x).numpy(), tape.gradient(theirs, x).numpy())


@pytest.mark.parametrize(
    "strides,padding,output_padding", [(1, "valid", None), (2, "same", None), (2, "valid", 1), (3, "same", 2)]
)
def test_transposed_conv_forward_is_the_conv_backward(strides, padding, output_padding):
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 3, 2, 5)).astype(np.float32)  # a conv from 2 to 5 channels
    x = tf.constant(rng.standard_normal((2, 4, 4, 5)).astype(np.float32))
    y = ops.conv_transpose(x, kernel, strides, padding, output_padding)
    z = tf.zeros(y.shape)
    with tf.GradientTape() as tape:
        tape.watch(z)
        conv_out = tf.nn.convolution(z, kernel, strides, padding.upper())  # TensorFlow's autodiff
    np.testing.assert_allclose(y.numpy(), tape.gradient(conv_out, z, output_gradients=x).numpy(), atol=1e-5)


@pytest.mark.parametrize(
    "strides,padding,dilation", [(2, "same", 1), (3, "valid", 1), (2, (2, 1), 1), (1, "full", 2), (1, "same", 3)]
)
def test_input_vjp_fast_form_equals_the_literal_dilate_pad_flip_correlate(strides, padding, dilation):
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    shape = (2, 9, 8, 3)
    out = ops.conv(np.zeros(shape, np.float32), kernel, strides, padding, dilation).shape
    dy = rng.standard_normal(out).astype(np.float32)
    fast = ops.conv_input_vjp(dy, kernel, shape, strides, padding, dilation)
    literal = ops.conv_input_vjp_reference(dy, kernel, shape, strides, padding, dilation)
    np.testing.assert_allclose(fast.numpy(), literal.numpy(), atol=1e-5)


def test_1d_half_padding_stride_and_true_convolution():
    # 001: I = [1, 2, 3, 4], W = [1, 2, 3]; half padding [0, 1, 2, 3, 4, 0] keeps the size, stride 2
    # keeps every other output; true convolution is correlation with the flipped kernel.
    x, w = tf.reshape([1.0, 2, 3, 4], (1, 4, 1)), tf.reshape([1.0, 2, 3], (3, 1, 1))
    np.testing.assert_array_equal(ops.conv(x, w, padding="same").numpy().ravel(), [8, 14, 20, 11])
    np.testing.assert_array_equal(ops.conv(x, w, strides=2, padding=1).numpy().ravel(), [8, 20])
    # TensorFlow's "same" at stride 2 pads only after ([1, 2, 3, 4, 0]): other numbers, same size.
    np.testing.assert_array_equal(ops.conv(x, w, strides=2, padding="same").numpy().ravel(), [14, 11])
    np.testing.assert_array_equal(ops.conv(x, tf.reverse(w, [0])).numpy().ravel(), [10, 16])
    np.testing.assert_array_equal(np.convolve([1, 2, 3, 4], [1, 2, 3], "valid"), [10, 16])  # NumPy's convolution


def test_the_gradient_tape_demonstration_of_the_kernel_gradient():
    # 001: n and nextgrad printed; the kernel's gradient printed twice, by GradientTape and as a
    # correlation of n with nextgrad: [0.6445209, 2.1667714, -1.0011742].
    n = np.array([0.20350695, -0.31481498, -0.85656077, 0.5981919], np.float32).reshape(1, 4, 1)
    nextgrad = np.array([-0.47567356, -2.3547919], np.float32).reshape(1, 2, 1)
    expected = [0.6445209, 2.1667714, -1.0011742]
    np.testing.assert_allclose(ops.conv_kernel_vjp(n, nextgrad, (3, 1, 1)).numpy().ravel(), expected, rtol=1e-6)
    np.testing.assert_allclose(ops.conv(n, nextgrad.reshape(2, 1, 1)).numpy().ravel(), expected, rtol=1e-6)
    conv = layers.Conv1D(1, 3, use_bias=False)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(nextgrad * conv(n))  # the notes' trick: the upstream gradient is nextgrad
    np.testing.assert_allclose(tape.gradient(loss, conv.kernel).numpy().ravel(), expected, rtol=1e-6)


def test_the_transposed_convolution_is_the_gradient_of_the_strided_one():
    # 001: a 3x3 kernel w, stride 2, on a 5x5 input gives r (2x2); the gradient of sum(r^2 / 2) with
    # respect to the input, and Conv2DTranspose(w) applied to r, are the same printed 5x5 image.
    w = np.array(
        [[0.13429713, 1.9649408, 0.74939513], [0.6982393, 1.2397809, 1.4247327], [1.5534406, 0.1190145, 1.3256309]],
        np.float32,
    )
    r = np.array([[25.535583, 28.583742], [23.470192, 20.622599]], np.float32)
    expected = [
        [3.4293556, 50.17591, 22.974957, 56.16536, 21.420517],
        [17.829948, 31.65853, 56.339676, 35.437576, 40.724194],
        [42.819992, 49.156643, 98.61191, 43.924065, 53.345966],
        [16.387812, 29.097897, 47.83826, 25.567505, 29.381691],
        [36.45955, 2.7932932, 63.148792, 2.4543884, 27.337954],
    ]
    kernel = w[..., None, None]
    gradient = ops.conv_input_vjp(r[None, ..., None], kernel, (1, 5, 5, 1), strides=2)
    transposed = ops.conv_transpose(r[None, ..., None], kernel, strides=2)
    np.testing.assert_allclose(gradient.numpy()[0, ..., 0], expected, rtol=1e-6)
    np.testing.assert_allclose(transposed.numpy()[0, ..., 0], expected, rtol=1e-6)


def test_the_max_pool_demonstration():
    # 001: a printed 4x4 n, 2x2 max pooling, nextgrad = ones: the printed m and gradient.
    n = np.array(
        [
            [0.58009243, 1.1895669, 2.6777048, 0.15597591],
            [-0.94100916, -0.7437242, -1.0578039, -0.30651447],
            [0.53753567, 0.10521288, -0.43827865, -0.7727399],
            [-0.42974523, -1.669584, -0.92768306, -0.19861951],
        ],
        np.float32,
    )[None, ..., None]
    x = tf.constant(n)
    with tf.GradientTape() as tape:
        tape.watch(x)
        m = layers.MaxPooling2D(2)(x)
    np.testing.assert_array_equal(m.numpy().ravel(), np.float32([1.1895669, 2.6777048, 0.53753567, -0.19861951]))
    expected = [[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    np.testing.assert_array_equal(tape.gradient(m, x).numpy()[0, ..., 0], expected)


def test_the_output_shapes_of_the_notes():
    # 004: 28x28x3, kernel 5, stride 2, padding 2: ((28 - 5 + 2 * 2) / 2) + 1 = 14; 20 filters: 14x14x20.
    assert ops.conv_output_size(28, 5, stride=2, padding=2) == 14
    assert ops.conv(np.zeros((1, 28, 28, 3), np.float32), np.zeros((5, 5, 3, 20), np.float32), 2, 2).shape == (
        1,
        14,
        14,
        20,
    )
    # 001: a (1, 16, 16, 1) input through Conv2D(8, [5, 5], "valid"): (1, 12, 12, 8), kernel (5, 5, 1, 8), bias (8,).
    conv = layers.Conv2D(8, 5)
    assert conv(np.zeros((1, 16, 16, 1), np.float32)).shape == (1, 12, 12, 8)
    assert [tuple(w.shape) for w in conv.weights] == [(5, 5, 1, 8), (8,)]
