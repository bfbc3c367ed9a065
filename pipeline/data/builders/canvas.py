"""`digit_canvas`: the sliding-window detector of "Convolutions - II", as data. Canvases hold a few
digits (scikit-learn's, 32x32 tiles) at random places; the dataset is what the classifier trains
on: 32x32 windows of canvases, each a digit (its tile, moved by up to 2 pixels: class 0-9) or
background (a window overlapping every digit by less than IoU 0.5, half of them near misses
that cut through a digit: class 10). `canvases(split, count)` draws whole canvases with their boxes, for detection.
Train windows come from the digits' train split, test windows and canvases from its test split."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import tensorflow_datasets as tfds

from pipeline.data.builders._base import OFFLINE_BUILDERS, GeneratedBuilder
from pipeline.data.builders._config import SyntheticConfig
from pipeline.data.builders.digits import IMAGE_SIZE, digit_images, split_indices
from pipeline.errors import ConfigError

TILE = IMAGE_SIZE  # a digit's box and the window side
BACKGROUND = 10  # the class of windows showing no digit
CLASS_NAMES = [*(str(d) for d in range(10)), "background"]
SHIFT = 2  # a digit window is its tile moved by up to this many pixels
BACKGROUND_IOU = 0.5  # a background window overlaps every digit's box by less than this
NEAR = 20  # half the background windows are near misses: a digit's tile moved by up to this


@dataclasses.dataclass(eq=False)
class CanvasConfig(SyntheticConfig):
    """Parameters of the `digit_canvas` generator (pass any of them as `options` to `load`).

    Attributes:
        canvas_size: side of the square grey canvas, in pixels (at least two tiles).
        max_digits: each canvas holds between 1 and this many digits, never overlapping.
        background_share: share of the windows that are background.
    """

    canvas_size: int = 96
    max_digits: int = 3
    background_share: float = 0.5
    train_size: int = 6000
    test_size: int = 1000

    def validate(self) -> None:
        super().validate()
        if self.canvas_size < 2 * TILE:
            raise ConfigError(f"`canvas_size` must be at least {2 * TILE}. Received: canvas_size={self.canvas_size}")
        if self.max_digits < 1 or self.max_digits > (self.canvas_size // TILE) ** 2:
            raise ConfigError(
                f"`max_digits` must be from 1 to {(self.canvas_size // TILE) ** 2}. Received: {self.max_digits}"
            )
        if not 0.0 <= self.background_share < 1.0:
            raise ConfigError(f"`background_share` must be in [0, 1). Received: {self.background_share}")


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (y0, x0, y1, x1) box with each of `boxes` (K, 4)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    height = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    width = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return height * width / np.maximum(area + areas - height * width, 1e-12)


def canvas(tiles: np.ndarray, classes: np.ndarray, size: int, rng: np.random.Generator) -> tuple:
    """`tiles` (k, 32, 32, 1) uint8 placed at random non-overlapping spots of a black canvas:
    (canvas (size, size, 1) uint8, boxes (k, 4) as y0, x0, y1, x1, classes (k,))."""
    image, boxes = np.zeros((size, size, 1), np.uint8), []
    for tile in tiles:
        while True:
            y, x = rng.integers(0, size - TILE + 1, 2)
            box = np.array([y, x, y + TILE, x + TILE])
            if not boxes or iou(box, np.array(boxes)).max() == 0.0:
                break
        image[y : y + TILE, x : x + TILE] = np.maximum(image[y : y + TILE, x : x + TILE], tile)
        boxes.append(box)
    return image, np.array(boxes).reshape(-1, 4), np.asarray(classes)


def random_canvas(images, labels, config: CanvasConfig, rng: np.random.Generator) -> tuple:
    """One canvas of 1 to `max_digits` digits drawn from `images`."""
    picked = rng.choice(len(images), rng.integers(1, config.max_digits + 1), replace=False)
    return canvas(images[picked], labels[picked], config.canvas_size, rng)


def windows(image, boxes, classes, rng: np.random.Generator, background: bool) -> tuple[np.ndarray, int]:
    """One 32x32 window of a canvas and its class: a digit's tile moved by up to `SHIFT` pixels,
    or (background) a window overlapping every box by less than `BACKGROUND_IOU`: anywhere, or
    (half the time) a near miss, a digit's tile moved by up to `NEAR` pixels."""
    size = image.shape[0]
    if not background:
        k = rng.integers(len(boxes))
        y, x = np.clip(boxes[k, :2] + rng.integers(-SHIFT, SHIFT + 1, 2), 0, size - TILE)
        return image[y : y + TILE, x : x + TILE], int(classes[k])
    near = rng.random() < 0.5
    while True:
        if near:
            y, x = np.clip(boxes[rng.integers(len(boxes)), :2] + rng.integers(-NEAR, NEAR + 1, 2), 0, size - TILE)
        else:
            y, x = rng.integers(0, size - TILE + 1, 2)
        if iou(np.array([y, x, y + TILE, x + TILE]), boxes).max() < BACKGROUND_IOU:
            return image[y : y + TILE, x : x + TILE], BACKGROUND


def source_digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The digits a split's windows and canvases are made of (the `digits` split of that name)."""
    images, labels = digit_images()
    indices = split_indices(labels, "train" if split.startswith("train") else "test")
    return images[indices], labels[indices]


def canvases(split: str, count: int, seed: int = 0, **options) -> list[tuple]:
    """`count` canvases of the split's digits, each (image (S, S, 1) float32 in [0, 1], boxes
    (k, 4) as y0, x0, y1, x1, classes (k,)), seeded: the detection stage's test set."""
    config = CanvasConfig.from_options(**options)
    images, labels = source_digits(split)
    rng = np.random.default_rng([seed, 2])
    drawn = [random_canvas(images, labels, config, rng) for _ in range(count)]
    return [(image.astype(np.float32) / 255.0, boxes, classes) for image, boxes, classes in drawn]


@OFFLINE_BUILDERS.register("digit_canvas")
class DigitCanvas(GeneratedBuilder):
    """32x32 windows of canvases of scikit-learn's digits: a digit (0-9) or background (10)."""

    BUILDER_CONFIGS = [CanvasConfig(name="default")]

    def features(self) -> tfds.features.FeaturesDict:
        return tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(shape=(TILE, TILE, 1)),
                "label": tfds.features.ClassLabel(names=CLASS_NAMES),
            }
        )

    def _generate_examples(self, split: str) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        self._source = source_digits(split)
        yield from super()._generate_examples(split)

    def generate(self, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
        config: CanvasConfig = self.builder_config
        images, labels = [], []
        for _ in range(count):
            drawn = random_canvas(*self._source, config, rng)
            window, label = windows(*drawn, rng, background=rng.random() < config.background_share)
            images.append(window)
            labels.append(label)
        return {"image": np.stack(images), "label": np.array(labels, np.int64)}
