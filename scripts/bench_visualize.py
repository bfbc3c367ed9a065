"""Images per second of each attribution method, of the faithfulness metrics and of the
randomization check, on LeNet-5 (our layers, 5 epochs) and the digits test images, each timed
after one untimed call (tracing), median of `--repeats` calls.

    python scripts/bench_visualize.py [--images 64] [--repeats 3] [--batch 256]
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
from bench_attacks import trained_lenet

from pipeline.data import load
from pipeline.visualize import ATTRIBUTIONS, faithfulness
from pipeline.visualize.randomization import randomization_check

log = logging.getLogger("bench_visualize")


def rate(fn, images: int, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return images / float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256, help="the most perturbed images per model call")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    test, _ = load("digits", "test", batch_size=args.images)
    x = next(iter(test))[0].numpy()
    model = trained_lenet("custom")
    log.info("\n| LeNet-5 (our layers), %d digits | images/s |\n|---|---|", len(x))
    for name, method in ATTRIBUTIONS.items():
        log.info("| %s | %.1f |", name, rate(lambda m=method: m(model, x, batch_size=args.batch), len(x), args.repeats))
    maps = ATTRIBUTIONS["saliency"](model, x)
    scores = rate(lambda: faithfulness(model, x, maps, batch_size=args.batch), len(x), args.repeats)
    log.info("| faithfulness metrics (Deletion, Insertion: 50 steps; MuFidelity: 200 subsets) | %.1f |", scores)
    check = rate(lambda: randomization_check(model, "saliency", x, batch_size=args.batch), len(x), args.repeats)
    log.info("| randomization check of saliency (5 layers) | %.1f |", check)


if __name__ == "__main__":
    main()
