"""Time one training step of each custom layer against its keras.layers counterpart.

A step is: forward, loss = sum of outputs, gradients w.r.t. the input and the weights. Both
layers run in the same process, interleaved, repeated; the table shows the median time of each
and the custom/keras ratio (machines are noisy, so only ratios mean much).

    python scripts/bench_layers.py [--repeats 30] [--batch 32]
"""

from __future__ import annotations

import argparse
import logging
import time

import keras
import numpy as np
import tensorflow as tf

import layers
from pipeline.models import build_model

log = logging.getLogger("bench_layers")

# name -> (custom factory, keras factory, input shape without batch)
CASES = {
    "LeNet conv 32x32x1 -> 6 k5": (lambda: layers.Conv2D(6, 5), lambda: keras.layers.Conv2D(6, 5), (32, 32, 1)),
    "VGG block 56x56x64 -> 64 k3 same": (
        lambda: layers.Conv2D(64, 3, padding="same"),
        lambda: keras.layers.Conv2D(64, 3, padding="same"),
        (56, 56, 64),
    ),
    "ResNet down 56x56x64 -> 128 k3 s2": (
        lambda: layers.Conv2D(128, 3, 2, "same"),
        lambda: keras.layers.Conv2D(128, 3, 2, "same"),
        (56, 56, 64),
    ),
    "3x3 dilation 2, 28x28x32 -> 32": (
        lambda: layers.Conv2D(32, 3, dilation_rate=2),
        lambda: keras.layers.Conv2D(32, 3, dilation_rate=2),
        (28, 28, 32),
    ),
    "Conv1D 256x32 -> 64 k5": (lambda: layers.Conv1D(64, 5), lambda: keras.layers.Conv1D(64, 5), (256, 32)),
    "Conv3D 16x16x16x8 -> 16 k3": (lambda: layers.Conv3D(16, 3), lambda: keras.layers.Conv3D(16, 3), (16, 16, 16, 8)),
    "Conv2DTranspose 28x28x32 -> 16 k3 s2": (
        lambda: layers.Conv2DTranspose(16, 3, 2, "same"),
        lambda: keras.layers.Conv2DTranspose(16, 3, 2, "same"),
        (28, 28, 32),
    ),
    "MaxPooling2D 2x2 on 56x56x64": (
        lambda: layers.MaxPooling2D(2),
        lambda: keras.layers.MaxPooling2D(2),
        (56, 56, 64),
    ),
}

# Whole networks at their real input size: name -> (impl -> model factory, input shape, batch, repeats cap).
# VGG16 forward + backward at 224x224 takes about a second per image on 2 cores: a small batch, few repeats.
MODEL_CASES = {
    "VGG16 224x224x3 (whole network)": (
        lambda impl: build_model("vgg16", (224, 224, 3), 1000, impl=impl),
        (224, 224, 3),
        2,
        7,
    ),
}


def make_step(layer, jit: bool):
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x))
        return tape.gradient(loss, [x] + layer.trainable_weights)

    return tf.function(step, jit_compile=jit)


def time_pair(custom_step, keras_step, x, repeats: int) -> tuple[float, float]:
    """Median seconds of each step, run alternately so both see the same machine state."""
    for step in (custom_step, keras_step):  # trace and warm up
        for _ in range(3):
            [g.numpy() for g in step(x)]
    times = {custom_step: [], keras_step: []}
    for i in range(repeats):
        for step in (custom_step, keras_step) if i % 2 == 0 else (keras_step, custom_step):
            start = time.perf_counter()
            [g.numpy() for g in step(x)]
            times[step].append(time.perf_counter() - start)
    return float(np.median(times[custom_step])), float(np.median(times[keras_step]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--only", default="", help="run the cases whose name contains this text")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []
    for name, (custom, reference, shape) in CASES.items():
        if args.only not in name:
            continue
        x = tf.random.normal((args.batch, *shape))
        ours, theirs = custom(), reference()
        ours.build(x.shape)
        theirs.build(x.shape)
        ours.set_weights(theirs.get_weights())
        for jit in (False, True):
            t_ours, t_keras = time_pair(make_step(ours, jit), make_step(theirs, jit), x, args.repeats)
            rows.append((name, jit, t_ours, t_keras, t_ours / t_keras))
            log.info(
                "%-40s jit=%-5s custom %8.2f ms  keras %8.2f ms  ratio %.2f",
                name,
                jit,
                t_ours * 1e3,
                t_keras * 1e3,
                t_ours / t_keras,
            )
    for name, (factory, shape, batch, cap) in MODEL_CASES.items():
        if args.only not in name:
            continue
        x = tf.random.normal((batch, *shape))
        ours, theirs = factory("custom"), factory("keras")
        ours.set_weights(theirs.get_weights())
        t_ours, t_keras = time_pair(make_step(ours, False), make_step(theirs, False), x, min(args.repeats, cap))
        rows.append((f"{name}, batch {batch}", False, t_ours, t_keras, t_ours / t_keras))
        log.info(
            "%-40s custom %8.2f ms  keras %8.2f ms  ratio %.2f", name, t_ours * 1e3, t_keras * 1e3, t_ours / t_keras
        )
    ratios = [r[-1] for r in rows]
    log.info("\n| case | jit | custom ms | keras ms | custom/keras |\n|---|---|---|---|---|")
    for name, jit, t_ours, t_keras, ratio in rows:
        log.info("| %s | %s | %.2f | %.2f | %.2f |", name, jit, t_ours * 1e3, t_keras * 1e3, ratio)
    log.info("\nmedian ratio %.2f, worst %.2f (target: median <= 1.10, none above 1.5)", np.median(ratios), max(ratios))


if __name__ == "__main__":
    main()
