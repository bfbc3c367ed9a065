"""What the stages after training read: the trained model (this run's, or one logged by an
earlier MLflow run with `model.from_run=<run id>`) and a sample of the test split."""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig, OmegaConf

import pipeline.models  # noqa: F401 - registers our layers, so saved models deserialize
from pipeline import tracking
from pipeline.data import DatasetInfo, load, load_arguments
from pipeline.errors import UserError

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"  # in the run directory, written by the train stage
ADOPTED = ("dataset", "model", "layers")  # what a from_run run decides: the data its model reads


class ModelNotFoundError(FileNotFoundError, UserError):
    """No trained model where the stage looked."""


def adopt_run(cfg: DictConfig, tracking_uri: str) -> DictConfig:
    """With `model.from_run`, the earlier run's dataset, model and layers replace this config's,
    so the stages read the data that model was trained on."""
    run_id = cfg.model.from_run
    try:
        earlier = OmegaConf.create(tracking.load_logged_text(tracking_uri, run_id, "config.yaml"))
    except Exception as error:
        raise ModelNotFoundError(
            f"model.from_run={run_id}: no run with a config.yaml in {tracking_uri} "
            f"({type(error).__name__}). Copy a run id from the MLflow UI (make ui)."
        ) from None
    merged = OmegaConf.merge(cfg, {key: earlier[key] for key in ADOPTED})
    merged.model.from_run = run_id
    log.info(
        "Using the model of MLflow run %s: %s on %s (%s layers)",
        run_id,
        merged.model.name,
        merged.dataset.name,
        merged.layers.impl,
    )
    return merged


def trained_model(cfg: DictConfig, run_dir: Path) -> keras.Model:
    """The model of `model.from_run`, else the one the train stage saved in `run_dir`."""
    if cfg.model.from_run:
        try:
            return tracking.load_logged_model(cfg.model.from_run)
        except OSError as error:
            raise ModelNotFoundError(
                f"Run {cfg.model.from_run} logged no model ({error}); train with tracking.log_model=true."
            ) from None
    path = run_dir / MODEL_FILE
    if not path.exists():
        raise ModelNotFoundError(
            f"No trained model at {path}: run the train stage first (stages=[train,...]) "
            "or name an earlier run with model.from_run=<MLflow run id>."
        )
    return keras.saving.load_model(path)


def sample_test_split(cfg: DictConfig, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """The first `count` test examples (fewer if the split is smaller), shuffled with `seed` so
    that every class shows up among the first few: images and targets as arrays, and the info."""
    ds, info = load(**load_arguments(cfg.dataset, "test"), batch_size=min(count, 1024), max_examples=count)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order], info
