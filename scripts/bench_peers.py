"""The default experiment's training epoch against PyTorch eager on the same cores.

One run prints, per epoch after the first (median): the pipeline with our layers, the pipeline
with `keras.layers` (both the real command line, their `epoch_time_s`: every training batch with
the progress bar, the NaN check and the epoch's metrics; validation apart), a plain Keras
`model.fit` of the same model, and PyTorch eager: the same LeNet-5 (same layer sizes, ReLU,
max-pooling), the same digits train split as arrays, batch, Adam and learning rate, reshuffled
every epoch, on as many threads as TensorFlow uses here. The pipeline rows do the same work
(`SAME_WORK`: no augmentation, Adam at a constant 1e-3); one more row shows the default
experiment as `make run` trains it. The rows run one after the other in `--rounds` rounds, and each
row's ratio to PyTorch is the median of the rounds' ratios (this machine's speed drifts from one
minute to the next). Target: pipeline (custom) / PyTorch <= 1.0. A second table
times one training step with Keras's Adam, SGD and no update at all, interleaved
(the epochs above run one after the other, so this machine's drift shows in them).

PyTorch is a benchmark-only extra: `pip install -e ".[bench]"` (torch==2.13.0, the CPU build).

    python scripts/bench_peers.py [--epochs 8] [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_pipeline import SAME_WORK, WARMUP_EPOCHS, keras_epoch_times, pipeline_epochs

log = logging.getLogger("bench_peers")
BATCH, LR = 64, 1e-3  # the default batch (pipeline.config.TrainerConfig); one learning rate for every side
TORCH_ROW = "PyTorch eager (the reference)"


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The pipeline's digits train split (32x32, [0, 1]) as NumPy arrays."""
    from pipeline.data import load

    train, _ = load("digits", "train", batch_size=4096)
    x, y = (np.concatenate(parts) for parts in zip(*((a.numpy(), b.numpy()) for a, b in train)))
    return x, y


def torch_lenet(num_classes: int = 10):
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 6, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


def torch_epoch_times(epochs: int, threads: int) -> list[float]:
    """PyTorch eager training of LeNet-5 on the same data, timed per epoch like the pipeline's
    (the loss and accuracy summed on the device, read once per batch for a progress line)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = digits_arrays()
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    labels = torch.from_numpy(y.astype(np.int64))
    model = torch_lenet()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(labels))
        total, correct = 0.0, 0
        for i in range(0, len(labels), BATCH):
            index = order[i : i + BATCH]
            logits = model(images[index])
            loss = loss_fn(logits, labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
            correct += int((logits.argmax(1) == labels[index]).sum())
        times.append(time.perf_counter() - start)
    return times


def update_costs(rounds: int = 30, steps: int = 20) -> dict[str, float]:
    """Milliseconds per LeNet-5 training step (batch 64, in a compiled loop of `steps`), for each
    way of updating the weights, the variants interleaved round by round: what the optimizer's
    update costs beyond the forward and backward pass."""
    import keras
    import tensorflow as tf

    from pipeline.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 1), 10, impl="custom")
    x, y = tf.random.normal((BATCH, 32, 32, 1)), tf.random.uniform((BATCH,), 0, 10, tf.int32)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizers = {"keras Adam": keras.optimizers.Adam(LR), "SGD (the simplest update)": keras.optimizers.SGD(LR)}
    optimizers["no update"] = None

    def loop(optimizer):
        @tf.function
        def run():
            for _ in tf.range(steps):
                with tf.GradientTape() as tape:
                    value = loss(y, model(x, training=True))
                grads = tape.gradient(value, model.trainable_variables)
                if optimizer is None:  # the gradients are still used, so they are still computed
                    value += 0.0 * tf.add_n([tf.reduce_sum(g) for g in grads])
                else:
                    optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return value

        run()
        return run

    loops, times = {k: loop(o) for k, o in optimizers.items()}, {k: [] for k in optimizers}
    for _ in range(rounds):
        for name, run in loops.items():
            started = time.perf_counter()
            run().numpy()
            times[name].append((time.perf_counter() - started) / steps * 1000)
    return {name: float(np.median(t)) for name, t in times.items()}


def epoch_times(scratch: Path, epochs: int, threads: int) -> dict[str, list[float]]:
    """One round: every row's epoch times, one row after the other, PyTorch's right before our
    layers' (the pair the target compares)."""
    torch_times = torch_epoch_times(epochs, threads)
    common = (
        "model=lenet5",
        "dataset=digits",
        f"trainer.epochs={epochs}",
        f"trainer.batch_size={BATCH}",
        "stages=[train]",
    )
    pipeline_rows = {
        "pipeline, our layers": ("layers=custom", *SAME_WORK),
        "pipeline, keras.layers": ("layers=keras", *SAME_WORK),
        "pipeline, the default experiment (digits jittered, one-cycle)": (),
    }
    rows = {
        name: [h["epoch_time_s"] for h in pipeline_epochs(scratch, *common, *extra)]
        for name, extra in pipeline_rows.items()
    }
    rows["plain keras model.fit, our layers"] = keras_epoch_times("lenet5", "digits", epochs, BATCH)
    rows[TORCH_ROW] = torch_times
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every row, one after the other")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's intra-op threads (this machine: 2 cores)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    log.info("PyTorch %s, %d intra-op threads", __import__("torch").__version__, args.threads)
    medians: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            for name, times in epoch_times(Path(scratch), args.epochs, args.threads).items():
                medians.setdefault(name, []).append(float(np.median(times[WARMUP_EPOCHS:])))
            log.info("round %d/%d: %s", round_ + 1, args.rounds, {k: round(v[-1], 3) for k, v in medians.items()})
    torch_times = np.array(medians[TORCH_ROW])
    log.info(
        "\n| LeNet-5, digits, batch %d, Adam | epoch (median after the first; median of %d rounds) "
        "| / PyTorch (median of the rounds' ratios) | rounds' ratios |\n|---|---|---|---|",
        BATCH,
        args.rounds,
    )
    for name, seconds in medians.items():
        ratios = np.array(seconds) / torch_times
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        log.info("| %s | %.3f s | %.2f | %s |", name, np.median(seconds), np.median(ratios), shown)
    log.info("target: pipeline (our layers) / PyTorch <= 1.00")
    costs = update_costs()
    log.info("\n| one LeNet-5 step, batch %d (interleaved) | ms | / keras Adam |\n|---|---|---|", BATCH)
    for name, ms in costs.items():
        log.info("| %s | %.2f | %.2f |", name, ms, ms / costs["keras Adam"])


if __name__ == "__main__":
    main()
