"""What `python -m pipeline` does with a composed config: check it, pick the run directory,
open the MLflow run, run the stages. User errors end as one line and exit code 2."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from pipeline.config import VISUALIZE_METHODS
from pipeline.errors import UserError

log = logging.getLogger("pipeline")

STAGES = ("train", "visualize", "adversarial")  # in order
# Keys that may differ between a run and the command that resumes it.
RESUME_KEYS = ("resume", "resume_dir")


def check(cfg: DictConfig) -> None:
    """Values the schema's types cannot rule out; raised before anything heavy happens."""
    t = cfg.trainer
    problems = [
        (t.epochs < 0, f"trainer.epochs must be >= 0, got {t.epochs}"),
        (t.batch_size < 1, f"trainer.batch_size must be >= 1, got {t.batch_size}"),
        (cfg.optimizer.lr <= 0, f"optimizer.lr must be > 0, got {cfg.optimizer.lr}"),
        (not 0 <= cfg.dataset.validation_fraction < 1, f"dataset.validation_fraction must be in [0, 1), got {cfg.dataset.validation_fraction}"),
        (cfg.layers.impl not in ("custom", "keras"), f"layers.impl must be custom or keras, got {cfg.layers.impl!r}"),
        (bool(set(cfg.stages) - set(STAGES)), f"unknown stage(s) {sorted(set(cfg.stages) - set(STAGES))}; known: {list(STAGES)}"),
        (bool(cfg.model.from_run) and "train" in cfg.stages, "model.from_run analyses an earlier run's model: leave train out of stages, e.g. stages=[visualize]"),
        (not cfg.model.from_run and "train" not in cfg.stages, f"stages={list(cfg.stages)} need a trained model: add train, or set model.from_run=<MLflow run id>"),
        (t.adversarial.attack not in (None, "fgsm", "pgd"), f"trainer.adversarial.attack must be null, fgsm or pgd, got {t.adversarial.attack!r}"),
        (bool(t.adversarial.attack) and not 0 < t.adversarial.ratio <= 1, f"trainer.adversarial.ratio must be in (0, 1], got {t.adversarial.ratio}"),
        (bool(t.adversarial.attack) and cfg.dataset.target != "label", "trainer.adversarial trains classifiers; this dataset's target is " + cfg.dataset.target),
        (not cfg.adversarial.epsilons or min(cfg.adversarial.epsilons) < 0, f"adversarial.epsilons must be >= 0 and not empty, got {list(cfg.adversarial.epsilons)}"),
        (cfg.visualize.num_images < 1, f"visualize.num_images must be >= 1, got {cfg.visualize.num_images}"),
        (bool(set(cfg.visualize.methods) - set(VISUALIZE_METHODS)), f"unknown visualize.methods {sorted(set(cfg.visualize.methods) - set(VISUALIZE_METHODS))}; known: {VISUALIZE_METHODS}"),
    ]
    for bad, message in problems:
        if bad:
            raise ValueError(message)


def run_dir(cfg: DictConfig, output_dir: Path) -> Path:
    """This job's output directory, or with `trainer.resume` the run it continues."""
    if cfg.trainer.resume_dir:
        path = Path(cfg.trainer.resume_dir)
        if not (path / "checkpoints").is_dir():
            raise ValueError(f"trainer.resume_dir={path} holds no checkpoints to resume from.")
        return path
    if cfg.trainer.resume:
        previous = latest_matching_run(cfg, output_dir)
        if previous is not None:
            return previous
        log.info("trainer.resume=true but no earlier run of this config has checkpoints; starting fresh.")
    if not os.access(output_dir, os.W_OK):
        raise ValueError(f"The output directory {output_dir} is not writable.")
    return output_dir


def latest_matching_run(cfg: DictConfig, output_dir: Path) -> Path | None:
    """The newest sibling run directory with checkpoints whose config equals this one."""
    wanted = _comparable(cfg)
    candidates = sorted(output_dir.parent.glob("*/.hydra/config.yaml"), reverse=True)
    for config_file in candidates:
        folder = config_file.parent.parent
        if folder != output_dir and (folder / "checkpoints").is_dir() and _comparable(OmegaConf.load(config_file)) == wanted:
            return folder
    return None


def _comparable(cfg: DictConfig) -> dict:
    plain = OmegaConf.to_container(cfg, resolve=True)
    for key in RESUME_KEYS:
        plain["trainer"].pop(key, None)
    return plain


def main(cfg: DictConfig) -> float | None:
    """Run the configured stages; returns the test accuracy (the sweep objective)."""
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    logging.getLogger("absl").setLevel(logging.WARNING)  # TFDS's and TensorFlow's chatter
    # Plain values from here on: enums as their strings, interpolations resolved.
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    try:
        check(cfg)
        folder = run_dir(cfg, Path(hydra_cfg.runtime.output_dir))
        from pipeline import distribute, tracking, train  # heavy: TensorFlow, MLflow

        strategy = distribute.make_strategy(cfg.trainer.strategy)  # before any other TensorFlow op
        if cfg.model.from_run:
            from pipeline import trained

            cfg = trained.adopt_run(cfg, tracking.tracking_uri(cfg))
        preflight(cfg)
        with tracking.tracked_run(cfg, folder, list(hydra_cfg.overrides.task), chief=distribute.is_chief()) as mlflow_run:
            results = train.run(cfg, folder, mlflow_run, strategy) if "train" in cfg.stages else {}
            if distribute.is_chief():
                results |= analyse(cfg, folder, mlflow_run)
    except Exception as error:  # noqa: BLE001 - user errors become one line; others keep the traceback
        if not _is_user_error(error):
            raise
        log.error("%s", error)
        sys.exit(2)
    log.info("Done: %s. Outputs in %s", "  ".join(f"{k} {v:.4f}" for k, v in results.items()), folder)
    if cfg.trainer.strategy == "multi_worker":
        # A MultiWorkerMirroredStrategy process does not exit once done (TensorFlow's collective
        # runtime keeps non-daemon threads alive); everything is written, so leave now.
        logging.shutdown()
        os._exit(0)
    return results.get("test_accuracy")


def analyse(cfg: DictConfig, folder: Path, mlflow_run) -> dict[str, float]:
    """The stages after training, on the chief: each reads the trained model and test data.
    Returns the headline numbers (the full sets are in MLflow and the report)."""
    from pipeline import trained

    results: dict[str, float] = {}
    later = [stage for stage in STAGES[1:] if stage in cfg.stages]
    model = trained.load_model(cfg, folder) if later else None
    if "visualize" in later:
        from pipeline.visualize import stage as visualize

        visualize.run(cfg, folder, mlflow_run, model)
    if "adversarial" in later:
        from pipeline.attacks import stage as adversarial

        results |= {k: v for k, v in adversarial.run(cfg, folder, mlflow_run, model).items() if k.startswith("median_")}
    return results


def preflight(cfg: DictConfig) -> None:
    """Fail before an MLflow run exists when the dataset is missing or the model cannot be built."""
    import tensorflow_datasets as tfds

    from pipeline.data import source

    tfds.disable_progress_bar()
    source.builder(cfg.dataset.name, data_dir=cfg.dataset.data_dir, options=dict(cfg.dataset.options) or None,
                   download=cfg.dataset.download)


def _is_user_error(error: Exception) -> bool:
    return isinstance(error, (ValueError, UserError))
