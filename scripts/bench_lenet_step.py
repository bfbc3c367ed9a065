"""Where a LeNet-5 training step on our layers loses to the same step on `keras.layers`: one
compiled loop of steps per variant (batch 64, Adam), the variants interleaved round by round,
median ms per step and the ratio to `keras.layers`. The diagnostic variant swaps our kernel VJP
(the input correlated with the upstream gradient, as one forward convolution over the examples)
for TensorFlow's dedicated `Conv2DBackpropFilter`, for this measurement only: if the gap closes,
the kernel gradient's formulation is the whole of it (see README, "Speed").

    python scripts/bench_lenet_step.py [--rounds 15] [--steps 20]
"""

from __future__ import annotations

import argparse
import logging
import time

import keras
import numpy as np
import tensorflow as tf

import layers.ops
from pipeline.models import build_model

log = logging.getLogger("bench_lenet_step")
BATCH = 64


def tf_kernel_vjp(ours):
    """Our `_kernel_vjp`, with TensorFlow's own op wherever it applies (2D, no dilation, no padding)."""

    def vjp(x, dy, kernel_spatial, geo):
        if len(kernel_spatial) != 2 or any(d != 1 for d in geo.dilation) or any(p != (0, 0) for p in geo.pads):
            return ours(x, dy, kernel_spatial, geo)
        sizes = [*kernel_spatial, x.shape[-1], dy.shape[-1]]
        return tf.raw_ops.Conv2DBackpropFilter(
            input=x, filter_sizes=sizes, out_backprop=dy, strides=[1, *geo.strides, 1], padding="VALID"
        )

    return vjp


def step_loop(impl: str, steps: int):
    """A compiled call running `steps` training steps of LeNet-5 built from `impl`'s layers."""
    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 1), 10, impl=impl)
    optimizer, loss = keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x, y = tf.random.uniform((BATCH, 32, 32, 1)), tf.random.uniform((BATCH,), 0, 10, tf.int32)

    @tf.function
    def run():
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                value = loss(y, model(x, training=True))
            optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables), model.trainable_variables))
        return value

    run()  # traced here, with whatever kernel VJP layers.ops holds now
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    loops = {"keras.layers": step_loop("keras", args.steps), "our layers": step_loop("custom", args.steps)}
    ours = layers.ops.convolution._kernel_vjp
    layers.ops.convolution._kernel_vjp = tf_kernel_vjp(ours)
    try:
        loops["our layers, TensorFlow's Conv2DBackpropFilter as kernel VJP"] = step_loop("custom", args.steps)
    finally:
        layers.ops.convolution._kernel_vjp = ours
    times = {name: [] for name in loops}
    for _ in range(args.rounds):
        for name, run in loops.items():
            started = time.perf_counter()
            run().numpy()
            times[name].append((time.perf_counter() - started) / args.steps * 1000)
    medians = {name: float(np.median(t)) for name, t in times.items()}
    log.info("\n| LeNet-5 step, batch %d, Adam (interleaved) | ms | / keras.layers |\n|---|---|---|", BATCH)
    for name, ms in medians.items():
        log.info("| %s | %.2f | %.2f |", name, ms, ms / medians["keras.layers"])


if __name__ == "__main__":
    main()
