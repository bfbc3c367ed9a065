"""The math of the convolution family as plain functions on tensors (channels last).

Every differentiable op here has a backward pass written by hand (``tf.custom_gradient``), one
per input (``routing.routed``: a VJP nobody asked for never runs), and the backward pass of a
convolution is itself a convolution:

* kernel VJP: ``dL/dW = correlate(x_padded, dL/dy dilated by the stride)`` -- the input (as a
  batch of ``in_channels`` images whose channels are the examples) correlated with the upstream
  gradient used as the kernel (``conv_kernel_vjp_reference``);
* input VJP: ``dL/dx = correlate(pad(dilate(dL/dy, stride)), flip(W))`` with the kernel's two
  channel axes swapped -- a transposed convolution, which is also the forward pass of
  ``conv_transpose`` (``conv_input_vjp_reference``).

Those formulas are the reference. The backward passes run TensorFlow's dedicated kernels for the
same quantities (``backprop_kernels``: ``Conv*BackpropFilter``, ``Conv*BackpropInput``,
``MaxPoolGrad``, ``AvgPoolGrad``), which the tests hold equal to the formulas and to Keras.

A convolution with one output position is the fully-connected layer it equals: its forward pass
and both VJPs are matrix products (``single_position``).

The rank (1D, 2D, 3D) is taken from the kernel. Pooling, unpooling and maxout (a max over
groups of channels) live in ``pooling``.

The modules: ``convolution`` (conv, its VJPs, transposed conv, the Toeplitz matrix),
``backprop_kernels`` (TensorFlow's backprop kernels, with the guards their traps need),
``pooling`` (with ``pool_windows``), ``local`` (locally connected), ``geometry`` (arguments and
shape arithmetic), ``single_position`` (the fully-connected case), ``routing`` (one custom
gradient per input) and ``spatial`` (helpers on the spatial axes). Their public functions are
the ones below.
"""

from layers.ops.convolution import (
    bias_add,
    conv,
    conv_input_vjp,
    conv_input_vjp_reference,
    conv_kernel_vjp,
    conv_kernel_vjp_reference,
    conv_matrix,
    conv_transpose,
)
from layers.ops.geometry import conv_geometry, conv_output_size, transpose_geometry, transpose_output_size
from layers.ops.local import local_conv
from layers.ops.pooling import (
    avg_pool,
    avg_pool_grad_reference,
    lp_pool,
    max_pool,
    max_pool_grad_reference,
    max_pool_with_argmax,
    max_unpool,
    maxout,
    upsample,
)

__all__ = [
    "avg_pool",
    "avg_pool_grad_reference",
    "bias_add",
    "conv",
    "conv_geometry",
    "conv_input_vjp",
    "conv_input_vjp_reference",
    "conv_kernel_vjp",
    "conv_kernel_vjp_reference",
    "conv_matrix",
    "conv_output_size",
    "conv_transpose",
    "local_conv",
    "lp_pool",
    "max_pool",
    "max_pool_grad_reference",
    "max_pool_with_argmax",
    "max_unpool",
    "maxout",
    "transpose_geometry",
    "transpose_output_size",
    "upsample",
]
