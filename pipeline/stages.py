"""The stages a run can hold, in the order they run, and what each stage is handed.

Light imports only: the config schema takes its default list of stages from `STAGES`. Each
stage is a package exporting `run_stage(context) -> dict[str, float]` (its headline numbers);
the package is imported only when the stage runs.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.registry import Registry


@dataclass(frozen=True)
class Stage:
    """package: where `run_stage` lives; every_worker: runs on every multi-worker process (the
    others run on the chief only); needs_model: reads a trained model (this run's or model.from_run)."""

    package: str
    every_worker: bool = False
    needs_model: bool = True

    def run(self, context: StageContext) -> dict[str, float]:
        return importlib.import_module(self.package).run_stage(context)


STAGES: Registry[Stage] = Registry(
    "stage",
    {
        "train": Stage("pipeline.training", every_worker=True, needs_model=False),
        "visualize": Stage("pipeline.visualize"),
        "adversarial": Stage("pipeline.attacks"),
        "detect": Stage("pipeline.detection"),
    },
)


@dataclass
class StageContext:
    """What every stage is handed: the resolved config, the run directory, the active MLflow run
    (None on workers other than the chief), the tf.distribute strategy, and the trained model."""

    cfg: Any  # DictConfig
    run_dir: Path
    mlflow_run: Any = None
    strategy: Any = None  # tf.distribute.Strategy

    @functools.cached_property
    def model(self) -> Any:
        """The trained model (keras.Model), read once: model.from_run's, else the train stage's."""
        from pipeline.models import inline
        from pipeline.stage_inputs import trained_model

        return inline(trained_model(self.cfg, self.run_dir))
