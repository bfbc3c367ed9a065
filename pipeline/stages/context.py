"""What every stage is handed."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
from omegaconf import DictConfig

from pipeline.logits import pre_softmax
from pipeline.models import inline
from pipeline.stages import sources
from pipeline.stages.inputs import dataset_info, trained_model

log = logging.getLogger(__name__)


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
        """The trained model, read once (model.source's, checked against the dataset; else the
        train stage's; else the pretrained one), as one flat functional model; a classifier that
        ends in a softmax as its pre-softmax logits, which attacks and attributions need."""
        model = trained_model(self.cfg, self.run_dir)
        if self.cfg.model.source:
            sources.check_fits(model, dataset_info(self.cfg), self.cfg.dataset.name)
        logits = pre_softmax(model)
        if logits is not None:
            log.info("%s ends in a softmax: the stages read its pre-softmax logits", model.name)
            model = logits
        return inline(model)
