"""A TFDS builder config whose fields are the generator's parameters, named after its overrides."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import tensorflow_datasets as tfds

from pipeline.errors import ConfigError

ConfigT = TypeVar("ConfigT", bound="SyntheticConfig")

# Fields every TFDS BuilderConfig has; they are bookkeeping, not generator parameters.
_TFDS_FIELDS = {field.name for field in dataclasses.fields(tfds.core.BuilderConfig)}


@dataclasses.dataclass(eq=False)
class SyntheticConfig(tfds.core.BuilderConfig):
    """Parameters of a generated dataset; the config name lists the ones that differ from default.

    The name becomes the folder the prepared data lives in, so two parameter sets never share
    one: ``bars/default`` and ``bars/image_size64-noise0.2``.
    """

    seed: int = 0
    train_size: int = 1000
    test_size: int = 200

    @classmethod
    def parameters(cls) -> dict[str, dataclasses.Field]:
        return {f.name: f for f in dataclasses.fields(cls) if f.name not in _TFDS_FIELDS}

    @classmethod
    def from_options(cls: type[ConfigT], **options: Any) -> ConfigT:
        """The config for these parameter overrides; unknown names raise a `ValueError`."""
        known = cls.parameters()
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigError(f"Unknown option(s) {unknown} for this dataset. Known options: {sorted(known)}.")
        defaults = cls(name="default")
        changed = {k: v for k, v in options.items() if v != getattr(defaults, k)}
        if not changed:
            return defaults
        name = "-".join(f"{k}{v}" for k, v in sorted(changed.items()))
        config = cls(name=name, description=f"{cls.__name__} with {changed}", **changed)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise a `ValueError` naming the first parameter out of range."""
        for key in ("train_size", "test_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"`{key}` must be a positive integer. Received: {key}={getattr(self, key)}")

    def rng(self, split: str):
        """A NumPy generator for one split: train and test never share random draws."""
        import numpy as np

        return np.random.default_rng([self.seed, {"train": 0, "test": 1}[split]])

    def size(self, split: str) -> int:
        return {"train": self.train_size, "test": self.test_size}[split]
