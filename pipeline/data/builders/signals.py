"""`signals`: noisy periodic waveforms of four kinds, a 1D dataset for Conv1D models."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from pipeline.data.builders._base import OFFLINE_BUILDERS, GeneratedBuilder
from pipeline.data.builders._config import SyntheticConfig
from pipeline.errors import ConfigError

WAVEFORMS = ("sine", "square", "triangle", "sawtooth")


@dataclasses.dataclass(eq=False)
class SignalsConfig(SyntheticConfig):
    """Parameters of the `signals` generator (pass any of them as `options` to `load`).

    Attributes:
        length: samples per signal.
        min_cycles, max_cycles: the number of periods in a signal is drawn uniformly between them.
        noise: standard deviation of the added Gaussian noise (signal range [0, 1]).
    """

    length: int = 128
    min_cycles: float = 2.0
    max_cycles: float = 8.0
    noise: float = 0.05
    train_size: int = 4000
    test_size: int = 800

    def validate(self) -> None:
        super().validate()
        if self.length < 16:
            raise ConfigError(f"`length` must be at least 16. Received: length={self.length}")
        if not 0 < self.min_cycles <= self.max_cycles <= self.length / 4:
            raise ConfigError(
                "Expected 0 < min_cycles <= max_cycles <= length / 4 (at least four samples a "
                f"period). Received: min_cycles={self.min_cycles}, max_cycles={self.max_cycles}"
            )


def waveform(kind: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """The four unit waveforms in [-1, 1] at `phase` (in periods), chosen per row by `kind`."""
    frac = phase % 1.0
    waves = np.stack(
        [
            np.sin(2 * np.pi * phase),
            np.where(frac < 0.5, 1.0, -1.0),
            4 * np.abs(frac - 0.5) - 1,
            2 * frac - 1,
        ]
    )
    return np.take_along_axis(waves, kind[None, :, None], axis=0)[0]


def render_signals(config: SignalsConfig, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    """`count` float32 (count, length, 1) signals in [0, 1] and their waveform labels."""
    labels = rng.integers(0, len(WAVEFORMS), count)
    cycles = rng.uniform(config.min_cycles, config.max_cycles, (count, 1))
    phase = rng.random((count, 1)) + cycles * np.arange(config.length) / config.length
    amplitude = rng.uniform(0.5, 1.0, (count, 1))
    signal = 0.5 + 0.4 * amplitude * waveform(labels, phase)
    signal = signal + rng.normal(0.0, config.noise, signal.shape)
    return {"image": np.clip(signal, 0.0, 1.0).astype(np.float32)[..., None], "label": labels.astype(np.int64)}


@OFFLINE_BUILDERS.register("signals")
class Signals(GeneratedBuilder):
    """Sine, square, triangle and sawtooth waves of random frequency, phase and amplitude plus
    Gaussian noise, as (length, 1) float signals in [0, 1]: the 1D dataset for Conv1D models.
    Generated from a seed; nothing to download."""

    BUILDER_CONFIGS = [SignalsConfig(name="default")]

    def features(self) -> tfds.features.FeaturesDict:
        return tfds.features.FeaturesDict(
            {
                "image": tfds.features.Tensor(shape=(self.builder_config.length, 1), dtype=np.float32),
                "label": tfds.features.ClassLabel(names=list(WAVEFORMS)),
            }
        )

    def generate(self, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
        return render_signals(self.builder_config, rng, count)
