"""Gradients only where asked: one custom-gradient op per input, so an unwanted VJP never runs.

A ``tf.custom_gradient`` function of several inputs has one backward function that returns every
input's gradient, so an attack that wants dL/dx alone still pays for dL/dW (PyTorch's
``ctx.needs_input_grad`` has no TensorFlow counterpart). ``routed`` splits the op instead:

    y ──┬── branch(x):      identity forward, backward = the input VJP
        ├── branch(kernel): identity forward, backward = the kernel VJP
        └── join(branches): identity forward, backward hands dy to each branch

A tape records an op only when one of its inputs is watched, so a branch whose input nobody
differentiates is never recorded and its VJP never built -- eagerly or inside a ``tf.function``
(the traced graph holds no op of it). ``tf.gradients``-style symbolic differentiation (an outer
tape around a ``tf.function``) may build both; TensorFlow then prunes the unused one before it
runs. Either way the gradients are the ones asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

Vjp = Callable[[tf.Tensor], tf.Tensor]


def stopped(*tensors: tf.Tensor) -> list[tf.Tensor]:
    """The inputs as the forward pass of ``routed`` must see them: cut from every tape."""
    return [tf.stop_gradient(t) for t in tensors]


def _branch(y: tf.Tensor, source: tf.Tensor, vjp: Vjp) -> tf.Tensor:
    @tf.custom_gradient
    def branch(source):
        def grad(dy):
            with tf.name_scope(vjp.__name__):
                return vjp(dy)

        return tf.identity(y), grad

    return branch(source)


def routed(y: tf.Tensor, pairs: Sequence[tuple[tf.Tensor, Vjp]]) -> tf.Tensor:
    """``y`` whose gradient w.r.t. each ``(source, vjp)`` pair's source is ``vjp(dy)``.

    ``y`` must be computed from the sources as returned by ``stopped`` (otherwise a tape would
    also keep the forward ops). Each VJP runs under a name scope of its function's name, so a
    traced graph shows which ran.
    """
    branches = [_branch(y, source, vjp) for source, vjp in pairs]

    @tf.custom_gradient
    def join(*branches):
        return tf.identity(branches[0]), lambda dy: [dy] * len(branches)

    return join(*branches)
