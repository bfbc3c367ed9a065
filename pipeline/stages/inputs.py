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
from pipeline.data import PHOTOS, DatasetInfo, load, load_arguments
from pipeline.errors import UserError
from pipeline.inference import predicted_classes
from pipeline.models import IMAGENET_CLASSES, build_model

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"  # in the run directory, written by the train stage
ADOPTED = ("dataset", "model", "layers")  # what a from_run run decides: the data its model reads


class ModelNotFoundError(FileNotFoundError, UserError):
    """No trained model where the stage looked."""


class UnsafeModelError(ValueError, UserError):
    """A saved model that only loads with Keras's safe mode off (it would run code it holds)."""


# Keras's safe mode refuses a saved model holding code (a Lambda layer's function) with a
# ValueError whose message names the way out; that message is how the refusal is told apart.
SAFE_MODE_REFUSAL = "safe_mode=False"


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
        except ValueError as error:
            if SAFE_MODE_REFUSAL not in str(error):
                raise
            reason = str(error).split(". ")[0]
            raise UnsafeModelError(
                f"model.from_run={cfg.model.from_run}: Keras's safe mode refused it: {reason}."
            ) from None
    path = run_dir / MODEL_FILE
    if not path.exists() and cfg.model.pretrained and "train" not in cfg.stages:
        return pretrained_model(cfg)
    if not path.exists():
        raise ModelNotFoundError(
            f"No trained model at {path}: run the train stage first (stages=[train,...]), "
            "name an earlier run with model.from_run=<MLflow run id>, or analyse pretrained weights "
            "(model.pretrained=imagenet|hed|<file>)."
        )
    return keras.saving.load_model(path)


def pretrained_model(cfg: DictConfig) -> keras.Model:
    """The pretrained model, untrained here, for the dataset's input size; on an unlabelled
    dataset it keeps the weights' own classifier (or none)."""
    _, info = load(**load_arguments(cfg.dataset, "test"), batch_size=1, max_examples=1)
    log.info("Analysing %s with %s weights (no training)", cfg.model.name, cfg.model.pretrained)
    return build_model(
        cfg.model.name,
        info.input_shape,
        info.num_classes or None,
        impl=cfg.layers.impl,
        pretrained=cfg.model.pretrained,
        **cfg.model.options,
    )


def class_names(info: DatasetInfo, model: keras.Model) -> list[str]:
    """The dataset's class names; for an unlabelled one, the model's: ImageNet's for 1000
    logits, else "class k" per logit (none for a model without a classifier)."""
    if info.class_names:
        return list(info.class_names)
    if len(model.output_shape) != 2:
        return []
    count = model.output_shape[-1]
    return IMAGENET_CLASSES if count == len(IMAGENET_CLASSES) else [f"class {k}" for k in range(count)]


def labels_or_predictions(model: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The labels, or for unlabelled examples (label -1) the model's predictions on them."""
    if y.ndim == 1 and len(y) and (y < 0).all() and len(model.output_shape) == 2:
        return predicted_classes(model, x)
    return y


def sample_test_split(cfg: DictConfig, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """The first `count` test examples (fewer if the split is smaller), shuffled with `seed` so
    that every class shows up among the first few (photos stay in their folder's order, the
    user's choice): images and targets as arrays, and the info."""
    ds, info = load(**load_arguments(cfg.dataset, "test"), batch_size=min(count, 1024), max_examples=count)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    x, y = np.concatenate(xs), np.concatenate(ys)
    if cfg.dataset.name == PHOTOS:
        return x, y, info
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order], info
