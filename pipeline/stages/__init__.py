"""The stage plumbing: which stages a run can hold, in the order they run (`STAGES`), what each
is handed (`context.StageContext`), what the stages after training read (`inputs`), and how
every stage publishes its figures and numbers (`report`).

Each stage is a module exporting `run_stage(context) -> dict[str, float]` (its headline
numbers); the registry names the module, which is imported only when the stage runs, so a
library user of `pipeline.attacks` or `pipeline.visualize` never imports the stage around it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from pipeline.registry import Registry


@dataclass(frozen=True)
class Stage:
    """module: where `run_stage` lives; every_worker: runs on every multi-worker process (the
    others run on the chief only); needs_model: reads a trained model (this run's or
    model.source's); by_default: among the stages of `stages=null`."""

    module: str
    every_worker: bool = False
    needs_model: bool = True
    by_default: bool = True

    def run(self, context: Any) -> dict[str, float]:
        """`run_stage(context)` of the stage's module (`context`: a `StageContext`)."""
        return importlib.import_module(self.module).run_stage(context)


STAGES: Registry[Stage] = Registry("stage")
STAGES.register("train", Stage("pipeline.training.stage", every_worker=True, needs_model=False))
STAGES.register("visualize", Stage("pipeline.visualize.stage"))
STAGES.register("adversarial", Stage("pipeline.attacks.stage"))
STAGES.register("detect", Stage("pipeline.detection.stage"))
STAGES.register("predict", Stage("pipeline.prediction.stage", by_default=False))  # needs predict.input


def default_stages() -> list[str]:
    """What `stages=null` runs: every stage but those that need an input of their own."""
    return [name for name, stage in STAGES.items() if stage.by_default]


__all__ = ["STAGES", "Stage", "default_stages"]
