"""Logged models MLflow can load and serve without the project imported first.

`tracking.log_model` logs through `mlflow.models.Model.log` with this module as the flavor, so the
model is a logged model of its run (the Models tab of MLflow's UI, linked to the run's metrics).
The saved folder is MLflow's Keras flavor plus the code that defines our layers (`code/`), and its
pyfunc loader is this module: `_load_pyfunc` registers the custom classes with Keras, then loads
as `mlflow.keras` does. So `mlflow.pyfunc.load_model` and `mlflow models serve` work in a fresh
process, and `mlflow.keras.load_model` still reads the same folder once the classes are registered
(`register_custom_objects`). Nothing on these paths unpickles: a `.keras` file is a JSON config
and weights, loaded in Keras's safe mode, and the input example is JSON.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SHIPPED_PACKAGES = ("layers", "pipeline")  # copied into the model: they define its custom classes
SHIPPED_DISTRIBUTIONS = ("convnet-layers",)  # installed from the checkout, shipped as code: not a requirement
CODE_DIR = "code"
MODEL_NAME = "model"  # the logged model of a run: runs:/<run id>/model
# Modules whose import registers a Keras class a trained model may hold.
REGISTERING_MODULES = ("layers", "pipeline.models", "pipeline.training.schedules", "pipeline.visualize.per_pixel")


def register_custom_objects() -> None:
    """Import every module that registers a Keras class of ours, so saved models deserialize."""
    for module in REGISTERING_MODULES:
        importlib.import_module(module)


def save_model(model: Any, path: str, mlflow_model: Any, **kwargs: Any) -> None:
    """MLflow's Keras flavor, with our code shipped and this module as its pyfunc loader.

    The `flavor.save_model` that `mlflow.models.Model.log` calls. The folder is created first:
    `mlflow.keras.save_model` writes the input example before it creates the folder.
    """
    import mlflow
    from mlflow.pyfunc import FLAVOR_NAME as PYFUNC

    os.makedirs(path, exist_ok=True)
    mlflow.keras.save_model(model, path, mlflow_model=mlflow_model, pip_requirements=requirements(), **kwargs)
    for package in SHIPPED_PACKAGES:
        source = Path(importlib.import_module(package).__file__).parent
        shutil.copytree(source, Path(path, CODE_DIR, package), ignore=shutil.ignore_patterns("__pycache__"))
    mlflow_model.flavors[PYFUNC].update(loader_module=__name__, code=CODE_DIR)
    mlflow_model.save(os.path.join(path, "MLmodel"))


def log_saved_model(client: Any, run_id: str, record: Mapping[str, Any]) -> None:
    """`log` for a model saved at `record["file"]` with its input example at `record["example"]`
    (how the model waits in a run's outbox)."""
    import keras
    import numpy as np

    register_custom_objects()
    model = keras.saving.load_model(record["file"])
    x_example = np.load(record["example"], allow_pickle=False)
    log(client, run_id, model, x_example, record.get("registered_name"), record.get("alias"))


def log(
    client: Any, run_id: str, model: Any, x_example: Any, registered_name: str | None = None, alias: str | None = None
) -> None:
    """`model` as the logged model "model" of run `run_id`, with a signature and an input example;
    registered under `registered_name`, with `alias` on the new version, when given."""
    import mlflow
    import numpy as np
    from mlflow.models import Model, infer_signature

    signature = infer_signature(x_example, np.asarray(model(x_example, training=False)))
    # The logged model goes to the fluent API's experiment: the run's, also when delivered later.
    mlflow.set_experiment(experiment_id=client.get_run(run_id).info.experiment_id)
    info = Model.log(
        None,  # artifact_path: deprecated in MLflow 3 for name
        name=MODEL_NAME,
        flavor=sys.modules[__name__],
        flavor_name="keras",
        run_id=run_id,
        registered_model_name=registered_name,
        model=model,
        signature=signature,
        input_example=x_example,
    )
    if registered_name and alias:
        client.set_registered_model_alias(registered_name, alias, info.registered_model_version)
        logger.info("Registered %s version %s as @%s", registered_name, info.registered_model_version, alias)


def _load_pyfunc(path: str) -> Any:
    """MLflow's pyfunc entry point (`loader_module`): our classes registered, then the Keras flavor's."""
    import mlflow.keras

    register_custom_objects()
    return mlflow.keras._load_pyfunc(path)


def requirements() -> list[str]:
    """The project's own dependencies at the versions installed here: what a serving env needs.
    From the installed distribution's metadata, else (a checkout run without installing) from
    the checkout's `pyproject.toml`; a dependency not installed here is left out with a warning."""
    from packaging.requirements import Requirement

    try:
        declared = importlib.metadata.requires("convnet-pipeline") or []
    except importlib.metadata.PackageNotFoundError:
        declared = _declared_in_checkout()
    shipped, pinned, missing = set(SHIPPED_DISTRIBUTIONS), [], []
    for wanted in (Requirement(text) for text in declared):
        if wanted.marker or wanted.name in shipped:
            continue
        try:
            pinned.append(f"{wanted.name}=={importlib.metadata.version(wanted.name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(wanted.name)
    if missing:
        logger.warning("The logged model's requirements leave out %s: not installed here", ", ".join(missing))
    return pinned


def _declared_in_checkout() -> list[str]:
    """`[project] dependencies` of the checkout's pyproject.toml (none found: none, with a warning)."""
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.is_file():
        logger.warning(
            "convnet-pipeline is not installed and %s is missing: the model's requirements are not pinned", pyproject
        )
        return []
    return tomllib.loads(pyproject.read_text())["project"]["dependencies"]
