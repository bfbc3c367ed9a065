"""Is the input pipeline ever the bottleneck? Its images/s next to a LeNet-5's training rate.

For each dataset, in one run: the rate at which `pipeline.data.load` delivers training batches
(cached, shuffled, augmented where the dataset allows), the rate at which a LeNet-5 (our
hand-written layers, `pipeline.models`) trains on a batch already in memory, and their ratio, which should be at
least 10. Rates are medians over repeats, so a noisy machine moves them less.

    python scripts/bench_data.py [--batch 128] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time

import keras
import numpy as np

from pipeline.data import load
from pipeline.models import build_model

log = logging.getLogger("bench_data")

# dataset -> load() keyword arguments of its training pipeline
DATASETS = {"digits": {}, "bars": {"augment": True}}
# The pipeline must deliver at least this many times the training rate.
REQUIRED_RATIO = 10.0


def pipeline_rate(ds, num_examples: int, repeats: int) -> float:
    """Median images/s over full epochs, after one epoch that fills the cache."""
    for _ in ds:
        pass
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _batch in ds:
            pass
        rates.append(num_examples / (time.perf_counter() - start))
    return float(np.median(rates))


def training_rate(model: keras.Model, x: np.ndarray, y: np.ndarray, repeats: int, steps: int = 20) -> float:
    """Median images/s of `model.train_on_batch` on one batch held in memory."""
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for _ in range(3):
        model.train_on_batch(x, y)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        rates.append(steps * len(x) / (time.perf_counter() - start))
    return float(np.median(rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", default=None, help="TFDS data_dir (default: a temporary one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or scratch
        rows = []
        for name, kwargs in DATASETS.items():
            ds, info = load(name, "train", batch_size=args.batch, data_dir=data_dir, **kwargs)
            x, y = next(iter(ds))
            feed = pipeline_rate(ds, info.num_examples, args.repeats)
            lenet = build_model("lenet5", info.input_shape, info.num_classes)
            train = training_rate(lenet, x.numpy(), y.numpy(), args.repeats)
            rows.append((name, kwargs, feed, train, feed / train))

    log.info("\n| dataset | pipeline images/s | LeNet-5 training images/s | ratio |\n|---|---|---|---|")
    for name, kwargs, feed, train, ratio in rows:
        flag = "" if ratio >= REQUIRED_RATIO else f"  (below {REQUIRED_RATIO:.0f}x)"
        label = name + (" (augmented)" if kwargs.get("augment") else "")
        log.info("| %s | %.0f | %.0f | %.1f%s |", label, feed, train, ratio, flag)


if __name__ == "__main__":
    main()
