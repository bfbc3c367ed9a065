"""Find a dataset by name and make sure it is prepared: built locally, downloaded, or a clear error."""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import logging
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tensorflow_datasets as tfds

from pipeline.data.builders import OFFLINE_BUILDERS
from pipeline.errors import ConfigError, UserError
from pipeline.registry import Registry

log = logging.getLogger(__name__)

# Prepared TFDS datasets are fetched from Google Cloud Storage; if this host cannot be reached
# within the timeout, the machine is treated as offline.
DATASET_HOST = ("storage.googleapis.com", 443)
PROBE_TIMEOUT_S = 3.0

# The real datasets the project documents (each has a conf/dataset file); any other TFDS name works too.
REAL_DATASETS: Registry[str] = Registry("real dataset")
REAL_DATASETS.register("mnist", "handwritten digits, 28x28 grey, 10 classes")
REAL_DATASETS.register("fashion_mnist", "clothing, 28x28 grey, 10 classes")
REAL_DATASETS.register("cifar10", "small photos, 32x32 colour, 10 classes")
REAL_DATASETS.register("cifar100", "small photos, 32x32 colour, 100 classes")
REAL_DATASETS.register("svhn_cropped", "house-number digits, 32x32 colour, 10 classes")


class DatasetNotPreparedError(RuntimeError, UserError):
    """A real dataset is not in `data_dir` and cannot be downloaded here."""


def network_available() -> bool:
    """Whether the dataset host answers within `PROBE_TIMEOUT_S` seconds."""
    try:
        with socket.create_connection(DATASET_HOST, timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def builder(
    name: str,
    *,
    data_dir: str | None = None,
    options: Mapping[str, Any] | None = None,
    download: bool = True,
) -> tfds.core.DatasetBuilder:
    """A prepared TFDS builder for `name`.

    Offline datasets are generated into `data_dir` on first use. Real ones are read from
    `data_dir`, downloaded if `download` and the dataset host is reachable, and otherwise raise
    `DatasetNotPreparedError` with the steps to prepare them elsewhere.

    Raises:
        ValueError: unknown dataset name or options.
        DatasetNotPreparedError: a real dataset missing with no way to download it.
    """
    dataset = _make_builder(name, data_dir, options or {})
    if dataset.is_prepared():
        return dataset
    offline = dataset.name in OFFLINE_BUILDERS
    if not offline and not (download and network_available()):
        raise DatasetNotPreparedError(not_prepared_message(dataset, download))
    # Parallel jobs (a sweep) may prepare the same dataset at once: one prepares, the rest wait.
    with _preparation_lock(Path(dataset.data_dir_root), dataset.name):
        dataset = _make_builder(name, data_dir, options or {})  # sees what another job prepared
        if not dataset.is_prepared():
            log.info("Preparing %s in %s", dataset.name, dataset.data_dir)
            dataset.download_and_prepare()
    return dataset


@contextlib.contextmanager
def _preparation_lock(root: Path, name: str) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_builder(name: str, data_dir: str | None, options: Mapping[str, Any]) -> tfds.core.DatasetBuilder:
    config = None
    if options:
        config_class = _config_class(name)
        config = config_class.from_options(**options)
    try:
        return tfds.builder(name, data_dir=data_dir, **({"config": config} if config else {}))
    except tfds.core.registered.DatasetNotFoundError:
        raise ConfigError(unknown_name_message(name)) from None


def unknown_name_message(name: str) -> str:
    """Say which names exist, nearest matches first."""
    known = [*OFFLINE_BUILDERS, "photos", *tfds.list_builders(with_community_datasets=False)]
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    return (
        f"Unknown dataset {name!r}.{hint} Offline datasets: {', '.join(OFFLINE_BUILDERS)}, photos (a folder); "
        f"real ones: {', '.join(REAL_DATASETS)}, or any image dataset in tfds.list_builders()."
    )


def _config_class(name: str) -> type:
    """The options dataclass of an offline builder; only those take `options`."""
    builder_class = OFFLINE_BUILDERS.get(name.split(":")[0])
    configs = getattr(builder_class, "BUILDER_CONFIGS", None)
    if not configs:
        raise ConfigError(
            f"Dataset {name!r} takes no options. Datasets with options: "
            f"{', '.join(n for n, b in OFFLINE_BUILDERS.items() if b.BUILDER_CONFIGS)}."
        )
    return type(configs[0])


def not_prepared_message(dataset: tfds.core.DatasetBuilder, download: bool) -> str:
    """One paragraph: which dataset, where it looked, how to prepare it on a connected machine."""
    name, root = dataset.name, dataset.data_dir_root
    reason = (
        "downloads are switched off (download=False)"
        if not download
        else f"this machine cannot reach the dataset host {DATASET_HOST[0]}"
    )
    return (
        f"Dataset {name!r} is not prepared in {root} (looked for {dataset.data_path}) and {reason}. "
        f"On a machine with network, run `tfds build {name} --data_dir=DIR` (or "
        f"`python scripts/prepare_data.py {name} --data-dir DIR`), copy DIR/{name} to {root}/{name} "
        f"on this machine (or point `data_dir` or the TFDS_DATA_DIR variable at the copy), and run "
        f"again. The offline datasets ({', '.join(OFFLINE_BUILDERS)}) need no network."
    )
