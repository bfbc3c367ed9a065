"""Gradient ascent on the input, shared by activation maximization, class models and DeepDream:
x_{t+1} = x_t + step * g / rms(g), with the regularisers of Yosinski et al., "Understanding
neural networks through deep visualization" (2015): jitter, blur, decay towards grey."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from pipeline.inference import traced
from pipeline.visualize.arrays import capped

GREY = 0.5  # decay pulls towards the middle of the [0, 1] data range


@dataclass(frozen=True)
class Regularisers:
    """jitter: random circular shift (pixels) before each step, undone after; blur_every: a 3x3
    Gaussian blur every so many steps (0: never); decay: pull towards grey per step."""

    jitter: int = 2
    blur_every: int = 4
    decay: float = 0.01


DEFAULT_REGULARISERS = Regularisers()


def _blur(x: tf.Tensor) -> tf.Tensor:
    taps = tf.constant([0.25, 0.5, 0.25])
    kernel = tf.tile(tf.reshape(taps[:, None] * taps[None, :], (3, 3, 1, 1)), (1, 1, x.shape[-1], 1))
    return tf.nn.depthwise_conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], "SYMMETRIC"), kernel, [1] * 4, "VALID")


def gradient_ascent(
    model: keras.Model,
    score: Callable[..., tf.Tensor],
    x0: np.ndarray,
    steps: int,
    step_size: float,
    regularisers: Regularisers = DEFAULT_REGULARISERS,
    seed: int = 0,
    args: tuple = (),
) -> np.ndarray:
    """Maximise `score(model, x, *args)` (one value per example) from `x0`, (N, H, W, C), clipped
    to [0, 1]. `score` is a module-level function and `args` tensors or names, so each model has
    one traced step per score and layer, whatever the filters, classes or images ascended."""
    reg = regularisers
    step = traced(model, _step)
    rng = np.random.default_rng(seed)
    x = tf.convert_to_tensor(x0, tf.float32)
    size, decay = tf.constant(step_size, tf.float32), tf.constant(reg.decay, tf.float32)
    for t in range(capped(steps)):
        shift = rng.integers(-reg.jitter, reg.jitter + 1, size=2) if reg.jitter else np.zeros(2, int)
        blur = tf.constant(bool(reg.blur_every) and (t + 1) % max(reg.blur_every, 1) == 0)
        x = step(x, tf.constant(shift, tf.int32), blur, size, decay, score, *args)
    return x.numpy()


def _step(model, x, shift, blur, step_size, decay, score, *args):
    """One regularised ascent step: jitter, the normalised gradient, decay, maybe blur, clip."""
    moved = tf.roll(x, shift, axis=[1, 2])
    with tf.GradientTape() as tape:
        tape.watch(moved)
        total = tf.reduce_sum(score(model, moved, *args))
    grad = tf.roll(tape.gradient(total, moved), -shift, axis=[1, 2])
    # Normalised per example so that `step_size` means the same for every layer and model.
    grad /= tf.sqrt(tf.reduce_mean(tf.square(grad), axis=[1, 2, 3], keepdims=True)) + 1e-8
    x = x + step_size * grad
    x = GREY + (1.0 - decay) * (x - GREY)
    x = tf.cond(blur, lambda: _blur(x), lambda: x)
    return tf.clip_by_value(x, 0.0, 1.0)
