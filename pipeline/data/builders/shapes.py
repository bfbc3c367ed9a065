"""`shapes`: coloured circles, squares and triangles with per-pixel masks, for U-Net and autoencoders."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from pipeline.data.builders._base import OFFLINE_BUILDERS, GeneratedBuilder
from pipeline.data.builders._config import SyntheticConfig
from pipeline.errors import ConfigError

SHAPE_NAMES = ("circle", "square", "triangle")


@dataclasses.dataclass(eq=False)
class ShapesConfig(SyntheticConfig):
    """Parameters of the `shapes` generator (pass any of them as `options` to `load`).

    Attributes:
        image_size: side of the square RGB image, in pixels.
        max_shapes: each image holds between 1 and this many shapes; later ones occlude earlier.
        noise: standard deviation of the added Gaussian pixel noise (image range [0, 1]).
    """

    image_size: int = 64
    max_shapes: int = 3
    noise: float = 0.03
    train_size: int = 2000
    test_size: int = 400

    def validate(self) -> None:
        super().validate()
        if self.image_size < 16:
            raise ConfigError(f"`image_size` must be at least 16. Received: image_size={self.image_size}")
        if self.max_shapes < 1:
            raise ConfigError(f"`max_shapes` must be at least 1. Received: max_shapes={self.max_shapes}")
        if self.noise < 0:
            raise ConfigError(f"`noise` must be >= 0. Received: noise={self.noise}")


def shape_inside(kind: int, u: np.ndarray, v: np.ndarray, radius: float) -> np.ndarray:
    """Which pixels fall inside a shape of circumradius `radius`, in its own rotated frame (u, v)."""
    if kind == 0:
        return u**2 + v**2 <= radius**2
    if kind == 1:
        half = radius / np.sqrt(2)
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    # An equilateral triangle: inside all three edges, each at distance radius/2 from the centre.
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3 + np.pi
    return np.all([u * np.cos(a) + v * np.sin(a) <= radius / 2 for a in angles], axis=0)


def render_shape_image(size: int, max_shapes: int, noise: float, rng: np.random.Generator):
    """One RGB image in [0, 1], its mask (0 background, 1 + shape index) and its dominant class."""
    cols, rows = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    image = np.tile(rng.uniform(0.0, 0.4, 3), (size, size, 1))  # a dark background colour
    mask = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(1, max_shapes + 1)):
        kind = int(rng.integers(len(SHAPE_NAMES)))
        radius = rng.uniform(0.12, 0.25) * size
        cx, cy = rng.uniform(radius, size - radius, 2)
        turn = rng.uniform(0, 2 * np.pi)
        u = (cols - cx) * np.cos(turn) + (rows - cy) * np.sin(turn)
        v = -(cols - cx) * np.sin(turn) + (rows - cy) * np.cos(turn)
        inside = shape_inside(kind, u, v, radius)
        image[inside] = rng.uniform(0.5, 1.0, 3)  # a light shape colour
        mask[inside] = kind + 1
    image = np.clip(image + rng.normal(0.0, noise, image.shape), 0.0, 1.0)
    # The label is the class covering the most visible pixels (ties go to the first class).
    label = int(np.argmax(np.bincount(mask.ravel(), minlength=len(SHAPE_NAMES) + 1)[1:]))
    return image, mask, label


def triangle_sets(count: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic attribute for deep feature interpolation: `count` shape images without a
    visible triangle and `count` with one, (count, size, size, 3) each in [0, 1]."""
    rng, found = np.random.default_rng(seed), ([], [])
    while min(len(found[0]), len(found[1])) < count:
        image, mask, _ = render_shape_image(size, 3, 0.03, rng)
        found[int((mask == 1 + SHAPE_NAMES.index("triangle")).any())].append(image)
    return np.stack(found[0][:count]).astype(np.float32), np.stack(found[1][:count]).astype(np.float32)


@OFFLINE_BUILDERS.register("shapes")
class Shapes(GeneratedBuilder):
    """Circles, squares and triangles of random size, rotation, colour and position on a dark
    background, with a per-pixel mask (0 background, 1 circle, 2 square, 3 triangle) for
    segmentation; the label is the class with the most visible pixels. Generated from a seed;
    nothing to download."""

    BUILDER_CONFIGS = [ShapesConfig(name="default")]

    def features(self) -> tfds.features.FeaturesDict:
        size = self.builder_config.image_size
        return tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(shape=(size, size, 3)),
                "mask": tfds.features.Image(shape=(size, size, 1)),
                "label": tfds.features.ClassLabel(names=list(SHAPE_NAMES)),
            }
        )

    def generate(self, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
        config: ShapesConfig = self.builder_config
        drawn = [render_shape_image(config.image_size, config.max_shapes, config.noise, rng) for _ in range(count)]
        images, masks, labels = zip(*drawn)
        return {
            "image": np.round(np.stack(images) * 255).astype(np.uint8),
            "mask": np.stack(masks)[..., None],
            "label": np.array(labels, np.int64),
        }
