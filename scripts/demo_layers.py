"""A small demonstration of layers/: the lecture's worked numbers, a gradient check, a short fit.

Run by `make run` until the pipeline lands. Prints what it checks and how long the fit took.
"""

from __future__ import annotations

import logging
import time

import keras
import tensorflow as tf
from sklearn.datasets import load_digits

import layers
from layers import ops

log = logging.getLogger("demo_layers")


def worked_numbers() -> None:
    """The lecture's 1D correlation and its backward pass."""
    x, w = tf.reshape([1.0, 2, 3, 4], (1, 4, 1)), tf.reshape([1.0, 2, 3], (3, 1, 1))
    log.info("conv([1, 2, 3, 4], [1, 2, 3]) = %s", ops.conv(x, w).numpy().ravel())
    log.info("Toeplitz matrix of a 3-tap kernel on 4 inputs:\n%s", ops.conv_matrix(w.numpy(), (4, 1)))


def gradient_check() -> None:
    """Our hand-written gradients against TensorFlow's autodiff through keras.layers.Conv2D."""
    x = tf.random.stateless_normal((4, 16, 16, 3), seed=(0, 0))
    ours, theirs = layers.Conv2D(8, 3, strides=2, padding="same"), keras.layers.Conv2D(8, 3, strides=2, padding="same")
    ours.build(x.shape)
    theirs.build(x.shape)
    ours.set_weights(theirs.get_weights())
    grads = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) ** 2)
        grads.append(tape.gradient(loss, [x, layer.kernel]))
    for name, a, b in zip(["d_input", "d_kernel"], *grads):
        log.info("max |ours - keras| of %s: %.2e", name, float(tf.reduce_max(tf.abs(a - b))))


def fit_digits() -> None:
    """LeNet-style net from our layers on scikit-learn's 8x8 digits (bundled, offline)."""
    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype("float32")
    y = digits.target
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x[:1500], y[:1500], epochs=10, batch_size=32, verbose=2)
    _, accuracy = model.evaluate(x[1500:], y[1500:], verbose=0)
    log.info("digits test accuracy %.3f after %.1f s of training", accuracy, time.perf_counter() - start)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    worked_numbers()
    gradient_check()
    fit_digits()
