"""A model trained elsewhere, for the stages to analyse: `model.source` names an MLflow run id, an
MLflow model URI (`models:/<name>@<alias>`, `models:/<name>/<version>`, `models:/<model id>`,
`runs:/<run id>/<path>`) or a `.keras` file.

A run (or a URI whose model a run of this pipeline logged) brings its config: the stages read the
dataset that model was trained on. Any other model reads the configured `dataset`, and
`check_fits` compares the two before anything runs. Every model loads in Keras's safe mode (no
code it holds runs) unless `model.safe_mode=false`, for a file one trusts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
from omegaconf import DictConfig, OmegaConf

from pipeline import tracking
from pipeline.data import DatasetInfo
from pipeline.errors import UserError

log = logging.getLogger(__name__)

ADOPTED = ("dataset", "model", "layers")  # what a source's run decides: the data its model reads
URI_SCHEMES = ("models:/", "runs:/")
KERAS_SUFFIX = ".keras"
# Keras's safe mode refuses a saved model holding code (a Lambda layer's function) with a
# ValueError whose message names the way out; that message is how the refusal is told apart.
SAFE_MODE_REFUSAL = "safe_mode=False"


class ModelNotFoundError(FileNotFoundError, UserError):
    """No model where the source points."""


class UnsafeModelError(ValueError, UserError):
    """A saved model that only loads with Keras's safe mode off (it would run code it holds)."""


class ModelMismatchError(ValueError, UserError):
    """A model whose input shape or class count is not the dataset's."""


def kind(source: str) -> str:
    """The kind of source: "uri", "file" (a `.keras` path, or any file) or "run" (anything else:
    an MLflow run id)."""
    if source.startswith(URI_SCHEMES):
        return "uri"
    return "file" if source.endswith(KERAS_SUFFIX) or Path(source).expanduser().is_file() else "run"


def model_uri(source: str) -> str:
    """What MLflow loads for a run id or URI: a run's logged model is `runs:/<id>/model`."""
    return source if kind(source) == "uri" else f"runs:/{source}/{tracking.serving.MODEL_NAME}"


def run_behind(source: str) -> str | None:
    """The MLflow run that logged the source's model (the tracking URI set), None for a file or a
    registered model that no run logged."""
    from mlflow import MlflowClient

    if kind(source) == "file":
        return None
    if kind(source) == "run":
        return source
    path = source.split(":/", 1)[1].strip("/")
    if source.startswith("runs:/"):
        return path.split("/")[0]
    client = MlflowClient()
    if "@" in path:
        name, alias = path.split("@", 1)
        return client.get_model_version_by_alias(name, alias).run_id
    if "/" in path:
        name, version = path.split("/", 1)
        return client.get_model_version(name, version).run_id
    return client.get_logged_model(path).source_run_id  # models:/<model id>


def adopt(cfg: DictConfig, tracking_uri: str) -> DictConfig:
    """The config the stages read for `model.source`: a run's dataset, model and layers replace
    this config's when the run is one of this pipeline's (it logged a config.yaml)."""
    import mlflow

    source = cfg.model.source
    mlflow.set_tracking_uri(tracking_uri)
    try:
        run_id = run_behind(source)
        if run_id is not None:
            mlflow.MlflowClient().get_run(run_id)
    except Exception as error:
        raise ModelNotFoundError(
            f"model.source={source}: not found in {tracking_uri} ({_first_line(error)}). Name a run id, "
            "models:/<name>@<alias>, models:/<name>/<version>, runs:/<run id>/model or a .keras file."
        ) from None
    if kind(source) == "file" and not Path(source).expanduser().is_file():
        raise ModelNotFoundError(f"model.source={source}: no such file.")
    earlier = _logged_config(tracking_uri, run_id) if run_id else None
    if earlier is None:
        log.info("Using the model of %s on the configured dataset %s", source, cfg.dataset.name)
        return cfg
    merged = OmegaConf.merge(cfg, {key: earlier[key] for key in ADOPTED})
    merged.model.source = source
    model, data, impl = merged.model.name, merged.dataset.name, merged.layers.impl
    log.info("Using the model of %s: %s on %s (%s layers)", source, model, data, impl)
    return merged


def _logged_config(tracking_uri: str, run_id: str) -> DictConfig | None:
    try:
        return OmegaConf.create(tracking.load_logged_text(tracking_uri, run_id, "config.yaml"))
    except Exception:  # a run of another tool: no config of ours
        return None


def load(cfg: DictConfig) -> keras.Model:
    """The model `model.source` names, in safe mode unless `model.safe_mode=false`."""
    source, safe = cfg.model.source, cfg.model.safe_mode
    tracking.serving.register_custom_objects()
    try:
        if kind(source) == "file":
            return keras.saving.load_model(Path(source).expanduser(), safe_mode=safe)
        import mlflow

        return mlflow.keras.load_model(model_uri(source), load_model_kwargs={"safe_mode": safe})
    except ValueError as error:
        if SAFE_MODE_REFUSAL not in str(error):
            raise ModelNotFoundError(f"model.source={source}: not a Keras model ({_first_line(error)})") from None
        raise UnsafeModelError(
            f"model.source={source}: Keras's safe mode refused it: {str(error).split('. ')[0]}. "
            "For a file you trust, set model.safe_mode=false."
        ) from None
    except OSError as error:
        raise ModelNotFoundError(f"model.source={source}: no Keras model there ({_first_line(error)})") from None


def check_fits(model: keras.Model, info: DatasetInfo, dataset: str) -> None:
    """The model reads the dataset's images and, for a labelled one, scores its classes."""
    expected = tuple(model.input_shape[1:])
    if len(expected) != len(info.input_shape) or any(e not in (None, d) for e, d in zip(expected, info.input_shape)):
        raise ModelMismatchError(
            f"The model reads images of shape {expected}, dataset {dataset} has {tuple(info.input_shape)}: "
            "pick a dataset of the model's input (dataset=..., dataset.image_size=...)."
        )
    classes = model.output_shape[-1] if len(model.output_shape) == 2 else None
    if info.num_classes and classes not in (None, info.num_classes):
        raise ModelMismatchError(
            f"The model scores {classes} classes, dataset {dataset} has {info.num_classes}: "
            "pick the dataset it was trained on."
        )


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
