"""What every stage is handed."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
from omegaconf import DictConfig

from pipeline.models import inline
from pipeline.stages.inputs import trained_model


@dataclass
class StageContext:
    """The resolved config, the run directory, the active MLflow run (None on workers other than
    the chief), the tf.distribute strategy, and the trained model."""

    cfg: DictConfig
    run_dir: Path
    mlflow_run: Any = None  # mlflow.ActiveRun
    strategy: Any = None  # tf.distribute.Strategy

    @functools.cached_property
    def model(self) -> keras.Model:
        """The trained model, read once: model.from_run's, else the train stage's."""
        return inline(trained_model(self.cfg, self.run_dir))
