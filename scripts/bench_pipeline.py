"""The pipeline's cost: its training time next to a plain Keras `model.fit` of the same model on
the same data for the same epochs, and the examples/s of layers=custom against layers=keras.

Each pipeline run is the real command line (`python -m pipeline`), in a scratch directory; the
times compared are the training epochs' (from its history.json), so start-up and MLflow logging
do not count, and the plain-Keras run times its epochs the same way. Targets: pipeline/Keras
time <= 1.10, custom/keras examples/s >= 0.9. Also the peak resident memory of `make run` (the
default experiment, every stage) measured from a wrapper process whose only child it is.

    python scripts/bench_pipeline.py [--epochs 10] [--model lenet5] [--dataset digits]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

log = logging.getLogger("bench_pipeline")
REPO = Path(__file__).resolve().parents[1]
# The first epoch traces and compiles; it is timed but left out of the medians.
WARMUP_EPOCHS = 1
# What the plain-Keras and PyTorch runs do: no augmentation, Adam at a constant 1e-3.
SAME_WORK = ("dataset.augment=false", "optimizer.schedule=constant", "optimizer.lr=0.001")


def pipeline_epochs(scratch: Path, *overrides: str) -> list[dict]:
    """Run the command line and return its per-epoch history."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "pipeline", "tracking.log_model=false", "tracking.experiment=bench", *overrides]
    done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    newest = max(scratch.glob("outputs/*/*/history.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(newest.read_text())


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def keras_epoch_times(model_name: str, dataset: str, epochs: int, batch_size: int) -> list[float]:
    """A plain `model.fit` on the same data pipeline, timed per epoch."""
    from pipeline.data import load
    from pipeline.models import build_model

    keras.utils.set_random_seed(0)
    train, info = load(dataset, "train", batch_size=batch_size)
    model = build_model(model_name, info.input_shape, info.num_classes)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    timer = EpochTimer()
    model.fit(train, epochs=epochs, verbose=0, callbacks=[timer], shuffle=False)
    return timer.times


def make_run_peak_rss_mb(scratch: Path) -> float:
    """Peak resident set size of `python -m pipeline` with its defaults (what `make run` runs)."""
    wrapper = (
        "import resource, subprocess, sys; "
        "done = subprocess.run([sys.executable, '-m', 'pipeline'], capture_output=True); "
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", wrapper], cwd=scratch, env=env, capture_output=True, text=True)
    code, kilobytes = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"python -m pipeline failed ({code}): {done.stderr[-2000:]}")
    return int(kilobytes) / 1024  # Linux reports ru_maxrss in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    common = (
        f"model={args.model}",
        f"dataset={args.dataset}",
        f"trainer.epochs={args.epochs}",
        f"trainer.batch_size={args.batch}",
        "dataset.validation_fraction=0",
        *SAME_WORK,
    )
    with tempfile.TemporaryDirectory() as scratch:
        custom = pipeline_epochs(Path(scratch), *common, "layers=custom")
        reference = pipeline_epochs(Path(scratch), *common, "layers=keras")
    with tempfile.TemporaryDirectory() as scratch:
        peak = make_run_peak_rss_mb(Path(scratch))
    plain = keras_epoch_times(args.model, args.dataset, args.epochs, args.batch)

    def median(values):
        return float(np.median(values[WARMUP_EPOCHS:]))

    pipeline_time = median([h["epoch_time_s"] for h in custom])
    keras_time = median(plain)
    custom_rate = median([h["examples_per_s"] for h in custom])
    keras_rate = median([h["examples_per_s"] for h in reference])
    log.info("\n| measure | value | target |\n|---|---|---|")
    log.info("| epoch time, pipeline (custom layers) | %.3f s | |", pipeline_time)
    log.info("| epoch time, plain keras fit (custom layers) | %.3f s | |", keras_time)
    log.info("| pipeline / plain keras | %.2f | <= 1.10 |", pipeline_time / keras_time)
    log.info("| examples/s layers=custom | %.0f | |", custom_rate)
    log.info("| examples/s layers=keras | %.0f | |", keras_rate)
    log.info("| custom / keras examples/s | %.2f | >= 0.90 |", custom_rate / keras_rate)
    log.info("| peak resident memory of `make run` (all stages) | %.0f MiB | |", peak)


if __name__ == "__main__":
    main()
