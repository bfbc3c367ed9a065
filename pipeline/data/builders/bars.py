"""`bars`: oriented bars and edges at random positions, the Hubel and Wiesel stimuli."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from pipeline.data.builders._base import OFFLINE_BUILDERS, GeneratedBuilder
from pipeline.data.builders._config import SyntheticConfig
from pipeline.errors import ConfigError


@dataclasses.dataclass(eq=False)
class BarsConfig(SyntheticConfig):
    """Parameters of the `bars` generator (pass any of them as `options` to `load`).

    Attributes:
        image_size: side of the square grey image, in pixels.
        num_orientations: classes; orientation k is k * 180 / num_orientations degrees.
        jitter: uniform random tilt added to each orientation, in degrees (+-jitter).
        edge_fraction: share of stimuli that are edges (a step across a line) instead of bars.
        noise: standard deviation of the added Gaussian pixel noise (image range [0, 1]).
    """

    image_size: int = 32
    num_orientations: int = 4
    jitter: float = 5.0
    edge_fraction: float = 0.5
    noise: float = 0.05
    train_size: int = 6000
    test_size: int = 1000

    def validate(self) -> None:
        super().validate()
        if self.image_size < 8:
            raise ConfigError(f"`image_size` must be at least 8. Received: image_size={self.image_size}")
        if self.num_orientations < 2:
            raise ConfigError(
                f"`num_orientations` must be at least 2. Received: num_orientations={self.num_orientations}"
            )
        if not 0.0 <= self.edge_fraction <= 1.0:
            raise ConfigError(f"`edge_fraction` must be in [0, 1]. Received: edge_fraction={self.edge_fraction}")
        if self.noise < 0 or self.jitter < 0:
            raise ConfigError(f"`noise` and `jitter` must be >= 0. Received: noise={self.noise}, jitter={self.jitter}")


def orientation_names(num_orientations: int) -> list[str]:
    """Class names: the orientation in degrees, counter-clockwise from horizontal."""
    return [f"{round(k * 180 / num_orientations):d}deg" for k in range(num_orientations)]


def render_bars(config: BarsConfig, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    """`count` stimuli as uint8 (count, size, size, 1) images with their orientation labels.

    A bar is a line segment of random length and width; an edge is a step from one grey level to
    another across a line. Either is centred at a random position, drawn with anti-aliased
    borders (one-pixel ramps), at a random contrast and polarity, plus Gaussian noise.
    """
    size = config.image_size
    labels = rng.integers(0, config.num_orientations, count)
    angle = np.deg2rad(labels * 180.0 / config.num_orientations + rng.uniform(-1, 1, count) * config.jitter)
    centre = rng.uniform(0.25 * size, 0.75 * size, (2, count))
    length = rng.uniform(0.3 * size, 0.7 * size, count)
    width = rng.uniform(1.0, max(1.5, size / 12), count)
    is_edge = rng.random(count) < config.edge_fraction
    low, high = rng.uniform(0.0, 0.35, count), rng.uniform(0.65, 1.0, count)
    dark_on_light = rng.random(count) < 0.5

    # Pixel centres relative to each stimulus centre, rotated into the stimulus frame:
    # `along` runs with the bar, `across` at right angles to it (image rows point down).
    cols, rows = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    dx = cols[None] - centre[0][:, None, None]
    dy = centre[1][:, None, None] - rows[None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    along, across = dx * cos + dy * sin, -dx * sin + dy * cos

    bar = np.clip(width[:, None, None] / 2 + 0.5 - np.abs(across), 0, 1) * np.clip(
        length[:, None, None] / 2 + 0.5 - np.abs(along), 0, 1
    )
    edge = np.clip(0.5 + across, 0, 1)
    shape = np.where(is_edge[:, None, None], edge, bar)
    shape = np.where(dark_on_light[:, None, None], 1.0 - shape, shape)
    image = low[:, None, None] + (high - low)[:, None, None] * shape
    image = image + rng.normal(0.0, config.noise, image.shape) if config.noise else image
    image = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    return {"image": image[..., None], "label": labels.astype(np.int64)}


@OFFLINE_BUILDERS.register("bars")
class Bars(GeneratedBuilder):
    """Oriented bars and edges at random positions, contrasts and polarities (the stimuli of
    Hubel and Wiesel's orientation-selective cells): one class per orientation. The dataset on
    which a convnet's translation invariance and its first-layer edge detectors can be shown.
    Generated from a seed; nothing to download."""

    BUILDER_CONFIGS = [BarsConfig(name="default")]

    def features(self) -> tfds.features.FeaturesDict:
        config: BarsConfig = self.builder_config
        return tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(shape=(config.image_size, config.image_size, 1)),
                "label": tfds.features.ClassLabel(names=orientation_names(config.num_orientations)),
            }
        )

    def generate(self, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
        return render_bars(self.builder_config, rng, count)
