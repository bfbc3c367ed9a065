"""What the stages after training read: the trained model (this run's, or one named by
`model.source`, see `sources`) and a sample of the test split."""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig

import pipeline.models  # noqa: F401 - registers our layers, so saved models deserialize
from pipeline.data import PHOTOS, DatasetInfo, load, load_arguments
from pipeline.inference import predicted_classes
from pipeline.models import IMAGENET_CLASSES, build_model
from pipeline.stages import sources

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"  # in the run directory, written by the train stage


def trained_model(cfg: DictConfig, run_dir: Path) -> keras.Model:
    """The model of `model.source`, else the one the train stage saved in `run_dir`, else the
    pretrained one asked for."""
    if cfg.model.source:
        return sources.load(cfg)
    path = run_dir / MODEL_FILE
    if not path.exists() and cfg.model.pretrained and "train" not in cfg.stages:
        return pretrained_model(cfg)
    if not path.exists():
        raise sources.ModelNotFoundError(
            f"No trained model at {path}: run the train stage first (stages=[train,...]), "
            "name a model with model.source=<MLflow run id | models:/... | file.keras>, or analyse pretrained "
            "weights (model.pretrained=imagenet|hed|<file>)."
        )
    return keras.saving.load_model(path)


def pretrained_model(cfg: DictConfig) -> keras.Model:
    """The pretrained model, untrained here, for the dataset's input size; on an unlabelled
    dataset it keeps the weights' own classifier (or none)."""
    info = dataset_info(cfg)
    log.info("Analysing %s with %s weights (no training)", cfg.model.name, cfg.model.pretrained)
    return build_model(
        cfg.model.name,
        info.input_shape,
        info.num_classes or None,
        impl=cfg.layers.impl,
        pretrained=cfg.model.pretrained,
        **cfg.model.options,
    )


def dataset_info(cfg: DictConfig) -> DatasetInfo:
    """The configured dataset's info (input shape, classes, names), from its test split."""
    _, info = load(**load_arguments(cfg.dataset, "test"), batch_size=1, max_examples=1)
    return info


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
