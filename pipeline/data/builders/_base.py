"""The shared shape of the offline builders: a seeded generator of NumPy arrays, two splits."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from pipeline.data.builders._config import SyntheticConfig
from pipeline.registry import Registry

# Examples are generated this many at a time, so a large count never sits in memory whole.
_CHUNK = 512


# The datasets that need no network: each builder's module registers its class under the name
# TFDS knows it by.
OFFLINE_BUILDERS: Registry[type[tfds.core.DatasetBuilder]] = Registry("offline dataset")


class GeneratedBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """A TFDS builder whose examples come from `generate(config, rng, count)`, not a download.

    Subclasses set `VERSION`, `BUILDER_CONFIGS` (one default config), `features()` and
    `generate()`. `tfds.load` prepares them locally; there is nothing to download.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}

    @abc.abstractmethod
    def features(self) -> tfds.features.FeaturesDict:
        """The feature spec of one example."""

    @abc.abstractmethod
    def generate(self, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
        """`count` examples as arrays with a leading example axis, drawn from `rng`."""

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(self.__doc__ or "").strip(),
            features=self.features(),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator]:
        del dl_manager  # generated, nothing to download
        return {split: self._generate_examples(split) for split in ("train", "test")}

    def _generate_examples(self, split: str) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        config: SyntheticConfig = self.builder_config
        rng, total = config.rng(split), config.size(split)
        for start in range(0, total, _CHUNK):
            arrays = self.generate(rng, min(_CHUNK, total - start))
            for offset in range(len(arrays["label"])):
                yield start + offset, {key: value[offset] for key, value in arrays.items()}
