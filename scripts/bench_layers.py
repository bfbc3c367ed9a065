"""Time one training step of each custom layer against its keras.layers counterpart.

A step is: forward, loss = sum(outputs^2) / 2, gradients w.r.t. the input and the weights. Both
layers run in the same process, interleaved, repeated; the table shows the median time of each
and the median of the paired custom/keras ratios (machines are noisy, so only ratios mean much).

Two sets: the fixed cases below (LeNet-5's and a VGG block's also at batch 1 and 256), and
`--random` cases drawn (seeded) from the same families
(batch, spatial size, channels, kernel, stride, padding), so that slow shapes outside the fixed
ones show. Each pair is repeated in rounds of 10 until its median ratio moves by less than 1%
(3% after 30 s on the case; at most `--repeats`). Layers Keras lacks (Lp pooling, Maxout) run against the Keras-autodiff
version of the same forward pass (`pipeline/models/autodiff_layers.py`).

    python scripts/bench_layers.py [--repeats 100] [--batch 32] [--random 16] [--seed 0] [--only text]
"""

from __future__ import annotations

import argparse
import logging
import time

import keras
import numpy as np
import tensorflow as tf

import layers
from pipeline.models import autodiff_layers as autodiff
from pipeline.models import build_model

log = logging.getLogger("bench_layers")
PATIENCE_S = 30.0  # after this long on one case, a 3% move of its ratio between rounds counts as settled

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
    "MaxPooling2D 2x2 on 14x14x6 (LeNet)": (
        lambda: layers.MaxPooling2D(2),
        lambda: keras.layers.MaxPooling2D(2),
        (28, 28, 6),
    ),
    "MaxPooling2D 3x3 s2 on 56x56x32": (
        lambda: layers.MaxPooling2D(3, 2),
        lambda: keras.layers.MaxPooling2D(3, 2),
        (56, 56, 32),
    ),
    "AveragePooling2D 3x3 s2 same 28x28x16": (
        lambda: layers.AveragePooling2D(3, 2, "same"),
        lambda: keras.layers.AveragePooling2D(3, 2, "same"),
        (28, 28, 16),
    ),
    "LpPooling2D 2x2 28x28x16 (vs autodiff)": (
        lambda: layers.LpPooling2D(2),
        lambda: autodiff.LpPooling2D(2),
        (28, 28, 16),
    ),
    "Maxout 32 -> 8 on 28x28 (vs autodiff)": (lambda: layers.Maxout(8), lambda: autodiff.Maxout(8), (28, 28, 32)),
}

# The LeNet-5 and VGG-block cases again at batch 1 and 256: name -> (case, batch).
BATCH_CASES = {
    f"{case}, batch {batch}": (case, batch)
    for case in ("LeNet conv 32x32x1 -> 6 k5", "VGG block 56x56x64 -> 64 k3 same")
    for batch in (1, 256)
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
    # loss = sum(y^2) / 2, so the upstream gradient is the output: with a constant one (the sum of
    # the outputs) TensorFlow folds Keras's average-pooling gradient away while tracing.
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(layer(x))) / 2
        return tape.gradient(loss, [x] + layer.trainable_weights)

    return tf.function(step, jit_compile=jit)


def random_cases(count: int, seed: int) -> dict:
    """`count` cases drawn from the conv, transposed-conv and pooling families (1D, 2D, 3D)."""
    rng, cases = np.random.default_rng(seed), {}
    while len(cases) < count:
        family, rank = rng.choice(["conv", "transpose", "max", "avg"]), int(rng.choice([1, 2, 2, 2, 3]))
        n = int(rng.integers(8, {1: 200, 2: 64, 3: 16}[rank]))
        c, k, stride = int(rng.choice([1, 3, 8, 16, 32, 64])), int(rng.integers(1, 6)), int(rng.integers(1, 3))
        padding = str(rng.choice(["valid", "same"]))
        dims = {1: "1D", 2: "2D", 3: "3D"}[rank]
        if family in ("conv", "transpose"):
            filters = int(rng.choice([4, 16, 32, 64, 128]))
            cls = f"Conv{dims}" if family == "conv" else f"Conv{dims}Transpose"
            args, kw = (filters, k), dict(strides=stride, padding=padding)
            name = f"{cls} {n}^{rank}x{c} -> {filters} k{k} s{stride} {padding}"
        else:
            cls = ("MaxPooling" if family == "max" else "AveragePooling") + dims
            k = int(rng.integers(2, 4))
            stride = int(rng.integers(1, k + 1))
            args, kw = (k,), dict(strides=stride, padding=padding)
            name = f"{cls} {n}^{rank}x{c} k{k} s{stride} {padding}"
        cases[name] = (
            lambda cls=cls, args=args, kw=kw: getattr(layers, cls)(*args, **kw),
            lambda cls=cls, args=args, kw=kw: getattr(keras.layers, cls)(*args, **kw),
            (*[n] * rank, c),
        )
    return cases


def time_pair(custom_step, keras_step, x, repeats: int) -> tuple[float, float, float]:
    """Median seconds of each step and the median of their paired ratios. The two steps run
    back to back (alternating which goes first), so each pair sees the same machine state and
    the ratio of a pair cancels slow drifts; rounds of 10 go on until the median ratio moves by
    less than 1% (3% once a case has taken `PATIENCE_S`), or `repeats` are done."""
    for step in (custom_step, keras_step):  # trace and warm up
        for _ in range(3):
            [g.numpy() for g in step(x)]
    times, last, started = {custom_step: [], keras_step: []}, None, time.perf_counter()
    for i in range(max(repeats, 10)):
        for step in (custom_step, keras_step) if i % 2 == 0 else (keras_step, custom_step):
            start = time.perf_counter()
            [g.numpy() for g in step(x)]
            times[step].append(time.perf_counter() - start)
        if (i + 1) % 10 == 0:
            ratio = float(np.median(np.divide(times[custom_step], times[keras_step])))
            settled = 0.01 if time.perf_counter() - started < PATIENCE_S else 0.03
            if last is not None and abs(ratio / last - 1) < settled:
                break
            last = ratio
    ratio = float(np.median(np.divide(times[custom_step], times[keras_step])))
    return float(np.median(times[custom_step])), float(np.median(times[keras_step])), ratio


def run_cases(cases: dict, batch: int, repeats: int, only: str) -> list[tuple]:
    """(name, jit, custom s, keras s, ratio) for each layer case, without and with XLA; a case may
    name its own batch size as a fourth element."""
    rows = []
    for name, (custom, reference, shape, *own_batch) in cases.items():
        if only not in name:
            continue
        x = tf.random.normal((own_batch[0] if own_batch else batch, *shape))
        ours, theirs = custom(), reference()
        try:
            theirs.build(x.shape)
        except ValueError as error:  # a drawn shape the layer refuses (too small for the kernel)
            log.info("%-40s skipped: %s", name, str(error).splitlines()[0])
            continue
        ours.build(x.shape)
        ours.set_weights(theirs.get_weights())
        for jit in (False, True):
            t_ours, t_keras, ratio = time_pair(make_step(ours, jit), make_step(theirs, jit), x, repeats)
            rows.append((name, jit, t_ours, t_keras, ratio))
            log.info(
                "%-48s jit=%-5s custom %8.2f ms  keras %8.2f ms  ratio %.2f",
                *rows[-1][:2],
                t_ours * 1e3,
                t_keras * 1e3,
                ratio,
            )
    return rows


def run_models(batch_cap: int, only: str, repeats: int) -> list[tuple]:
    rows = []
    for name, (factory, shape, batch, cap) in MODEL_CASES.items():
        if only not in name:
            continue
        x = tf.random.normal((batch, *shape))
        ours, theirs = factory("custom"), factory("keras")
        ours.set_weights(theirs.get_weights())
        t_ours, t_keras, ratio = time_pair(make_step(ours, False), make_step(theirs, False), x, min(repeats, cap))
        rows.append((f"{name}, batch {batch}", False, t_ours, t_keras, ratio))
        log.info("%-48s custom %8.2f ms  keras %8.2f ms  ratio %.2f", name, t_ours * 1e3, t_keras * 1e3, rows[-1][-1])
    return rows


def report(title: str, rows: list[tuple]) -> None:
    if not rows:
        return
    log.info("\n%s\n\n| case | jit | custom ms | keras ms | custom/keras |\n|---|---|---|---|---|", title)
    for name, jit, t_ours, t_keras, ratio in rows:
        log.info("| %s | %s | %.2f | %.2f | %.2f |", name, jit, t_ours * 1e3, t_keras * 1e3, ratio)
    for jit in (False, True):
        ratios = [r[-1] for r in rows if r[1] == jit]
        if ratios:
            log.info(
                "jit=%s: median ratio %.2f, worst %.2f (target: median <= 1.00, none above 1.10)",
                jit,
                np.median(ratios),
                max(ratios),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=100, help="most repeats per case")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--random", type=int, default=16, help="cases drawn at random from the families")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random cases")
    parser.add_argument("--only", default="", help="run the cases whose name contains this text")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    batch_cases = {name: (*CASES[case], batch) for name, (case, batch) in BATCH_CASES.items()}
    fixed = run_cases({**CASES, **batch_cases}, args.batch, args.repeats, args.only)
    fixed += run_models(args.batch, args.only, args.repeats)
    drawn = run_cases(random_cases(args.random, args.seed), args.batch, args.repeats, args.only)
    report("Fixed cases", fixed)
    report(f"Random cases (seed {args.seed})", drawn)


if __name__ == "__main__":
    main()
