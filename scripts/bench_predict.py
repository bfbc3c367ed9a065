"""Images per second of the predict stage's inference (`pipeline.prediction.top_classes`: the
softmax probabilities and the top 5 classes) at batch 1 and batch 64, next to Keras's own
`model.predict` on the same model and images in the same run, for LeNet-5 on the digits' 32x32
and VGG16 on 64x64 colour images; and the rate at which `read_inputs` reads a folder of PNG
files (decode, crop, resize), which the stage adds.

    python scripts/bench_predict.py [--images 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import functools
import logging
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from pipeline.models import build_model
from pipeline.prediction import read_inputs, top_classes

log = logging.getLogger("bench_predict")
MODELS = {"lenet5": (32, 32, 1), "vgg16": (64, 64, 3)}


def rate(fn, count: int, repeats: int) -> float:
    """Images per second of `fn()` over `count` images: the best of `repeats` after a warm-up."""
    fn()
    best = min(_seconds(fn) for _ in range(repeats))
    return count / best


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def files_rate(shape: tuple, count: int, repeats: int) -> float:
    """Images per second of `read_inputs` on a folder of `count` 8-bit PNG files twice the size."""
    images = np.random.default_rng(0).integers(0, 256, (count, shape[0] * 2, shape[1] * 2, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        for i, image in enumerate(images):
            Image.fromarray(image).save(Path(folder) / f"{i:04d}.png")
        return rate(lambda: read_inputs(folder, shape), count, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    log.info(
        "\nImages per second, %d images (best of %d)\n\n"
        "| model | batch | predict stage | keras `model.predict` | stage / keras | reading PNG files |\n"
        "|---|---|---|---|---|---|",
        args.images,
        args.repeats,
    )
    for name, shape in MODELS.items():
        model = build_model(name, shape, 10)
        x = np.random.default_rng(0).random((args.images, *shape)).astype(np.float32)
        reading = files_rate(shape, args.images, args.repeats)
        for batch in (1, 64):
            ours = rate(functools.partial(top_classes, model, x, 5, batch), args.images, args.repeats)
            theirs = rate(functools.partial(model.predict, x, batch_size=batch, verbose=0), args.images, args.repeats)
            log.info(
                "| %s %s | %d | %.0f | %.0f | %.2f | %.0f |", name, shape, batch, ours, theirs, ours / theirs, reading
            )
        keras.backend.clear_session()


if __name__ == "__main__":
    main()
