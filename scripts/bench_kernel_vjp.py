"""The conv kernel gradient (dL/dW) three ways against TensorFlow's `Conv2DBackpropFilter`, in
one run: ours (`layers.ops.conv_kernel_vjp`: the input correlated with the upstream gradient,
examples as channels), one matmul per kernel tap (each tap's input slice against dy), and
im2col (`tf.image.extract_patches`) + one matmul. Prints each formulation's time / TF's per
shape; every result is checked against TF's first.

    python scripts/bench_kernel_vjp.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import tensorflow as tf

from layers import ops
from layers.ops.spatial import pad_or_crop

log = logging.getLogger("bench_kernel_vjp")
# (input shape, filters, kernel, stride, padding): LeNet's, VGG's and ResNet's shapes and others
CASES = [
    ((32, 32, 32, 1), 6, 5, 1, "valid"),
    ((32, 14, 14, 6), 16, 5, 1, "valid"),
    ((32, 5, 5, 16), 120, 5, 1, "valid"),
    ((32, 56, 56, 64), 64, 3, 1, "same"),
    ((32, 56, 56, 64), 128, 3, 2, "same"),
    ((32, 28, 28, 32), 16, 3, 2, "same"),
    ((32, 28, 28, 32), 32, 3, 1, "same"),
    ((32, 37, 37, 16), 16, 2, 2, "same"),
    ((8, 112, 112, 64), 64, 3, 1, "same"),
    ((32, 14, 14, 256), 256, 3, 1, "same"),
    ((32, 7, 7, 512), 512, 3, 1, "same"),
    ((64, 28, 28, 3), 64, 7, 2, "same"),
]


def per_tap(x, dy, k: int, geo) -> tf.Tensor:
    xp, (_, ho, wo, co), s = pad_or_crop(x, geo.pads), dy.shape, geo.strides
    d2 = tf.reshape(dy, [-1, co])
    taps = [
        tf.matmul(
            tf.reshape(
                xp[:, i : i + (ho - 1) * s[0] + 1 : s[0], j : j + (wo - 1) * s[1] + 1 : s[1]], [-1, x.shape[-1]]
            ),
            d2,
            transpose_a=True,
        )
        for i in range(k)
        for j in range(k)
    ]
    return tf.reshape(tf.stack(taps), [k, k, x.shape[-1], co])


def im2col(x, dy, k: int, geo) -> tf.Tensor:
    s = geo.strides
    patches = tf.image.extract_patches(
        pad_or_crop(x, geo.pads), [1, k, k, 1], [1, s[0], s[1], 1], [1, 1, 1, 1], "VALID"
    )
    flat = tf.reshape(patches, [-1, k * k * x.shape[-1]])
    return tf.reshape(tf.matmul(flat, tf.reshape(dy, [-1, dy.shape[-1]]), transpose_a=True), [k, k, x.shape[-1], -1])


def measure(shape, filters: int, k: int, stride: int, padding: str, repeats: int) -> dict[str, float]:
    x = tf.random.normal(shape)
    geo = ops.conv_geometry(shape[1:3], (k, k), stride, padding)
    dy = tf.random.normal(ops.conv(x, tf.zeros((k, k, shape[-1], filters)), stride, padding).shape)
    sizes = [k, k, shape[-1], filters]
    fns = {
        "tf": lambda x, dy: tf.raw_ops.Conv2DBackpropFilter(
            input=x, filter_sizes=sizes, out_backprop=dy, strides=[1, stride, stride, 1], padding=padding.upper()
        ),
        "ours": lambda x, dy: ops.conv_kernel_vjp(x, dy, sizes, stride, padding),
        "per tap": lambda x, dy: per_tap(x, dy, k, geo),
        "im2col": lambda x, dy: im2col(x, dy, k, geo),
    }
    fns = {name: tf.function(f) for name, f in fns.items()}
    reference = fns["tf"](x, dy)
    for name, f in fns.items():
        error = float(tf.reduce_max(tf.abs(f(x, dy) - reference)) / tf.reduce_max(tf.abs(reference)))
        assert error < 1e-4, f"{name} differs from Conv2DBackpropFilter by {error:.2g}"
    times = {name: [] for name in fns}
    for _ in range(repeats):  # interleaved
        for name, f in fns.items():
            start = time.perf_counter()
            f(x, dy).numpy()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info(
        "| input | filters, kernel, stride, padding | TF ms | ours | per tap | im2col |\n|---|---|---|---|---|---|"
    )
    for shape, filters, k, stride, padding in CASES:
        t = measure(shape, filters, k, stride, padding, args.repeats)
        ratios = " | ".join(f"{t[name] / t['tf']:.2f}" for name in ("ours", "per tap", "im2col"))
        log.info("| %s | %d, %dx%d, %d, %s | %.2f | %s |", shape, filters, k, k, stride, padding, t["tf"] * 1e3, ratios)


if __name__ == "__main__":
    main()
