"""TensorFlow's dedicated backprop kernels: the fast path inside our custom gradients.

Each function here computes what a formula of ``convolution`` or ``pooling`` defines (the
reference, kept there under a ``_reference`` name), with the C++ kernel Keras's own layers get
from autodiff; the tests hold every case to both. The kernels' limits, and how each is met:

* ``Conv2DBackpropFilter`` / ``Conv3DBackpropFilterV2`` refuse a dilation above 1 on CPU: the
  input and the upstream gradient are split into their dilation phases (``space_to_batch_nd``),
  where the dilated kernel reads consecutive rows, as Keras's forward pass does;
* ``Conv3DBackpropFilterV2`` takes only ``"VALID"`` and ``"SAME"`` (and TensorFlow's CPU
  ``Conv3D`` gets some strided ``"SAME"`` cases wrong): the input is padded here, explicitly;
* ``MaxPool3DGrad`` gives a tie's gradient to every tied maximum on this CPU, and the 3D pooling
  kernels take only float32: a 3D max-pooling (and a 3D average pooling of another dtype) runs as
  a 2D pooling of each depth slice followed by a pooling across depth (both take the first
  maximum, so the pair takes the first in row-major order of the 3D window; averages over real
  inputs multiply across axes);
* XLA has no deterministic ``MaxPoolGrad``: under op determinism, inside a function XLA compiles,
  max-pooling's gradient is the reference formula (``xla_lacks_deterministic_max_pool_grad``);
* a 1D op runs as the 2D one on a height-1 image, as Keras's;
* oneDNN's 2D kernel gradient of a 1x1 convolution with stride > 1 and fewer than 16 input
  channels writes past its buffer (uxlfoundation/oneDNN#6035): 1D and 2D 1x1 kernels never come
  here (``convolution`` takes them, and 3D ones at stride 1, as one matrix product, which is
  faster there). ``Conv3DBackpropFilterV2`` computes strided 1x1 cases correctly, with no
  overrun under glibc's heap checks, and faster than the matrix product.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.framework import config as tf_config
from tensorflow.python.ops import control_flow_util, gen_nn_ops

from layers.ops.spatial import pad_or_crop

__all__ = [
    "filter_grad",
    "in_xla_context",
    "phase_pads",
    "pool",
    "pool_grad",
    "xla_lacks_deterministic_max_pool_grad",
]


def phase_pads(spatial, kernel_spatial, out_spatial, pads, dilation):
    """``space_to_batch_nd`` pads that split an input and its upstream gradient into the phases of
    a dilation (stride 1), where the dilated kernel reads consecutive rows: each phase of the input
    is as long as a "VALID" convolution needs for the phase's rows of the output (the last phases
    padded with zeros)."""
    x_pads, dy_pads = [], []
    for n, k, o, d, (pb, _) in zip(spatial, kernel_spatial, out_spatial, dilation, pads):
        rows = -(-o // d)
        x_pads.append([pb, d * (rows + k - 1) - n - pb])
        dy_pads.append([0, d * rows - o])
    return x_pads, dy_pads


def _tf_padding(pads, same) -> tuple[str, list[int]]:
    """TensorFlow's name for explicit pads, and the explicit list when it has none."""
    if all(p == (0, 0) for p in pads):
        return "VALID", []
    if tuple(pads) == tuple(same):
        return "SAME", []
    return "EXPLICIT", [0, 0, *[p for pair in pads for p in pair], 0, 0]


def filter_grad(x, dy, kernel_spatial, strides, pads, dilation, same_pads) -> tf.Tensor:
    """dL/dW of a convolution (no 1D or 2D 1x1 kernel: see the module doc), shaped ``(*K, C_in, C_out)``.

    ``pads`` are the explicit ``(before, after)`` pads of each axis and ``same_pads`` the ones
    ``"same"`` gives (so TensorFlow runs its own ``"SAME"`` path when they agree).
    """
    rank = len(kernel_spatial)
    if max(dilation) > 1:
        x_pads, dy_pads = phase_pads(x.shape[1:-1], kernel_spatial, dy.shape[1:-1], pads, dilation)
        x, dy = tf.space_to_batch_nd(x, dilation, x_pads), tf.space_to_batch_nd(dy, dilation, dy_pads)
        pads = same_pads = ((0, 0),) * rank
    if rank == 1:
        x, dy = tf.expand_dims(x, 1), tf.expand_dims(dy, 1)  # a height-1 image, as Keras's Conv1D
        grad = filter_grad(x, dy, (1, *kernel_spatial), (1, *strides), ((0, 0), *pads), (1, 1), ((0, 0), *same_pads))
        return grad[0]
    sizes = [*kernel_spatial, x.shape[-1], dy.shape[-1]]
    if rank == 3:
        return tf.raw_ops.Conv3DBackpropFilterV2(
            input=pad_or_crop(x, pads), filter_sizes=sizes, out_backprop=dy, strides=[1, *strides, 1], padding="VALID"
        )
    padding, explicit = _tf_padding(pads, same_pads)
    return tf.raw_ops.Conv2DBackpropFilter(
        input=x,
        filter_sizes=sizes,
        out_backprop=dy,
        strides=[1, *strides, 1],
        padding=padding,
        explicit_paddings=explicit,
    )


def _pool2d(x, kind, pool_size, strides, padding):
    op = tf.nn.max_pool2d if kind == "MAX" else tf.nn.avg_pool2d
    return op(x, pool_size, strides, padding)


def _grad(kind, x, y, dy, pool_size, strides, padding):
    """The gradient of one stage: a 2D pooling, or a float32 3D average pooling."""
    ksize, strides = [1, *pool_size, 1], [1, *strides, 1]
    if kind == "MAX":
        return gen_nn_ops.max_pool_grad(x, y, dy, ksize, strides, padding)
    if len(pool_size) == 3:
        return gen_nn_ops.avg_pool3d_grad(tf.shape(x), dy, ksize, strides, padding)
    return gen_nn_ops.avg_pool_grad(tf.shape(x), dy, ksize, strides, padding)


def pool(x: tf.Tensor, kind: str, pool_size, strides, padding: str):
    """Max (``kind="MAX"``) or average pooling of any rank through 2D pooling ops.

    Returns the output and the stages ``pool_grad`` runs backwards: (input, output, window,
    strides) of each 2D pooling.
    """
    rank = x.shape.rank - 2
    if rank == 1:
        y, stages = pool(tf.expand_dims(x, 1), kind, (1, *pool_size), (1, *strides), padding)
        return tf.squeeze(y, 1), stages
    if rank == 2:
        y = _pool2d(x, kind, pool_size, strides, padding)
        return y, [(x, y, tuple(pool_size), tuple(strides))]
    if kind == "AVG" and x.dtype == tf.float32:  # no ties to mind: TensorFlow's own 3D kernel
        return tf.nn.avg_pool3d(x, pool_size, strides, padding), [(x, None, tuple(pool_size), tuple(strides))]
    depth, h, w, c = x.shape[1:]
    xa = tf.reshape(x, [-1, h, w, c])  # each depth slice over height and width
    ya = _pool2d(xa, kind, pool_size[1:], strides[1:], padding)
    xb = tf.reshape(ya, [-1, depth, ya.shape[1] * ya.shape[2], c])  # then across depth
    yb = _pool2d(xb, kind, (pool_size[0], 1), (strides[0], 1), padding)
    stages = [(xa, ya, tuple(pool_size[1:]), tuple(strides[1:])), (xb, yb, (pool_size[0], 1), (strides[0], 1))]
    return tf.reshape(yb, [-1, yb.shape[1], ya.shape[1], ya.shape[2], c]), stages


def pool_grad(kind: str, x: tf.Tensor, stages, dy: tf.Tensor, padding: str) -> tf.Tensor:
    """dL/dx of ``pool`` through ``MaxPoolGrad`` / ``AvgPoolGrad``, stage by stage backwards."""
    rank = x.shape.rank - 2
    if rank == 1:
        (xs, ys, window, step) = stages[0]
        return tf.squeeze(_grad(kind, xs, ys, tf.expand_dims(dy, 1), window, step, padding), 1)
    if len(stages) == 1:
        return _grad(kind, x, stages[0][1], dy, *stages[0][2:], padding)
    grad = dy
    for xs, ys, window, step in reversed(stages):
        grad = _grad(kind, xs, ys, tf.reshape(grad, tf.shape(ys)), window, step, padding)
    return tf.reshape(grad, tf.shape(x))


def in_xla_context() -> bool:
    """True while tracing a function XLA compiles (``jit_compile=True``, or inside one)."""
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def xla_lacks_deterministic_max_pool_grad() -> bool:
    """True while tracing for XLA under op determinism, where XLA refuses ``MaxPoolGrad`` ("do not
    yet have a deterministic XLA implementation")."""
    return tf_config.is_op_determinism_enabled() and in_xla_context()
