"""What `python -m pipeline` does with a composed config: check it, pick the run directory,
open the MLflow run, run the stages. A user error (`pipeline.errors.UserError`: a bad setting, a
missing file, an unreachable store, diverging training) ends as one line and exit code 2; any
other exception is a bug: its traceback is printed, the MLflow run is marked FAILED, exit code 1."""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path

import tensorflow as tf
import tensorflow_datasets as tfds
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pipeline import tracking
from pipeline.attacks import AUTOATTACK_MEMBERS, AUTOATTACK_VERSIONS, TRAINING_ATTACKS
from pipeline.console import restore_stderr
from pipeline.data import load, load_arguments
from pipeline.errors import ConfigError, UserError
from pipeline.models import IMPLS, PRETRAINED_ARCHITECTURES, check_architecture
from pipeline.stages import STAGES, default_stages, sources
from pipeline.stages.context import StageContext
from pipeline.sweeps import finished_job_metrics
from pipeline.training import (
    OBJECTIVES,
    OPTIMIZERS,
    SCHEDULES,
    STRATEGIES,
    default_metric,
    headline,
    is_chief,
    make_strategy,
    resolve_seed,
)
from pipeline.visualize import (
    ATTRIBUTIONS,
    FAITHFULNESS_BASELINES,
    FAITHFULNESS_CORRELATIONS,
    FAITHFULNESS_SCORES,
    METHODS,
)

log = logging.getLogger("pipeline")

# Keys that may differ between a run and the command that resumes it.
RESUME_KEYS = ("resume", "resume_dir")
# The results the closing log line shows besides the target's test metrics (`objectives.headline`).
HEADLINE = ("median_", "autoattack_robust_accuracy", "detection_map50", "predict_")


def main(cfg: DictConfig) -> float | None:
    """The Hydra task: this job's output directory and overrides come from Hydra's runtime config."""
    hydra_cfg = HydraConfig.get()
    sweep = hydra_cfg.mode.name == "MULTIRUN"
    return run(cfg, Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task), sweep=sweep)


def run(cfg: DictConfig, output_dir: Path, overrides: list[str], sweep: bool = False) -> float | None:
    """Run the configured stages; returns `optimized_metric` (the sweep objective)."""
    logging.getLogger("absl").setLevel(logging.WARNING)  # TFDS's and TensorFlow's chatter
    cfg = resolved(cfg)
    try:
        check(cfg)
        folder = run_dir(cfg, output_dir)
        if cfg.sweep_resume:
            done = finished_job_metrics(cfg, folder)
            if done is not None:
                log.info("sweep_resume=true: this job FINISHED before (%s); skipped", folder)
                return objective(cfg, done, sweep)
        strategy = make_strategy(cfg.trainer.strategy)  # before any other TensorFlow op
        log_devices()
        if cfg.model.source:
            cfg = sources.adopt(cfg, tracking.tracking_uri(cfg))
        cfg.trainer.seed = resolve_seed(cfg.trainer.seed, folder)
        preflight(cfg)
        chief = is_chief()
        with tracking.tracked_run(cfg, folder, overrides, chief=chief) as mlflow_run:
            context = StageContext(cfg, folder, mlflow_run, strategy)
            if cfg.model.source:
                context.model  # noqa: B018 - loaded and checked against the dataset before any stage runs
            results: dict[str, float] = {}
            for name, stage in STAGES.items():
                if name in cfg.stages and (chief or stage.every_worker):
                    results |= stage.run(context)
        value = objective(cfg, results, sweep)
    except UserError as error:
        log.error("%s", error)
        sys.exit(2)
    log.info("Done%s. Outputs in %s", closing_numbers(cfg, results), folder)
    if cfg.trainer.strategy == "multi_worker":
        # A MultiWorkerMirroredStrategy process does not exit once done (TensorFlow's collective
        # runtime keeps non-daemon threads alive); everything is written, so leave now.
        logging.shutdown()
        sys.stdout.flush()
        restore_stderr()
        os._exit(0)
    return value


def resolved(cfg: DictConfig) -> DictConfig:
    """The composed config as plain values: enums as their strings, interpolations resolved, and
    `stages` listed (null: the default stages, in order)."""
    plain = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    if plain.stages is None:
        plain.stages = default_stages()
    return plain


def closing_numbers(cfg: DictConfig, results: dict[str, float]) -> str:
    """ ": name value  ..." for the closing line: the target's test metrics, each later stage's
    headline and the optimised metric; empty when the run measured none of them."""
    wanted = [*headline(cfg.dataset.target), optimized_metric(cfg)]
    shown = {k: v for k, v in results.items() if k in wanted or k.startswith(HEADLINE)}
    order = sorted(shown, key=lambda k: wanted.index(k) if k in wanted else len(wanted))
    return ": " + "  ".join(f"{k} {shown[k]:.4f}" for k in order) if shown else ""


def optimized_metric(cfg: DictConfig) -> str:
    """`optimized_metric`, or the target's own first metric (`objectives.default_metric`)."""
    return cfg.optimized_metric or default_metric(cfg.dataset.target)


def objective(cfg: DictConfig, results: dict[str, float], sweep: bool) -> float | None:
    """`optimized_metric` among the run's results; a sweep that optimises a number the run does
    not measure is a user error."""
    name = optimized_metric(cfg)
    if name in results:
        return float(results[name])
    if sweep:
        known = ", ".join(sorted(results)) or "none"
        raise UserError(f"optimized_metric={name} is not a number this run measures (it measures: {known})")
    return None


def check(cfg: DictConfig) -> None:
    """Values the schema's types cannot rule out, and names checked against their registries;
    raised before anything is trained or recorded."""
    for bad, message in problems(cfg):
        if bad:
            raise ConfigError(message)
    check_names(cfg)


def problems(cfg: DictConfig) -> list[tuple[bool, str]]:
    """(is it wrong, the one-line message) for every setting the schema's types cannot rule out."""
    t = cfg.trainer
    return [
        (t.epochs < 0, f"trainer.epochs must be >= 0, got {t.epochs}"),
        (t.batch_size < 1, f"trainer.batch_size must be >= 1, got {t.batch_size}"),
        (
            t.steps_per_execution is not None and t.steps_per_execution < 1,
            f"trainer.steps_per_execution must be >= 1 or null (automatic), got {t.steps_per_execution}",
        ),
        (not 0 < cfg.optimizer.lr < math.inf, f"optimizer.lr must be a number > 0, got {cfg.optimizer.lr}"),
        (
            not 0 <= cfg.dataset.validation_fraction < 1,
            f"dataset.validation_fraction must be in [0, 1), got {cfg.dataset.validation_fraction}",
        ),
        (
            bool(cfg.tracking.registered_model_alias) and not cfg.tracking.registered_model_name,
            f"tracking.registered_model_alias={cfg.tracking.registered_model_alias} needs "
            "tracking.registered_model_name",
        ),
        (
            t.seed is None and t.strategy == "multi_worker",
            "trainer.seed=null with trainer.strategy=multi_worker: set a seed every worker shares",
        ),
        (
            bool(t.adversarial.attack) and not 0 < t.adversarial.ratio <= 1,
            f"trainer.adversarial.ratio must be in (0, 1], got {t.adversarial.ratio}",
        ),
        (
            bool(t.adversarial.attack) and cfg.dataset.target != "label",
            "trainer.adversarial trains classifiers; this dataset's target is " + cfg.dataset.target,
        ),
        (
            not cfg.adversarial.epsilons or min(cfg.adversarial.epsilons) < 0,
            f"adversarial.epsilons must be >= 0 and not empty, got {list(cfg.adversarial.epsilons)}",
        ),
        (cfg.visualize.num_images < 1, f"visualize.num_images must be >= 1, got {cfg.visualize.num_images}"),
        *dataset_problems(cfg),
        *source_problems(cfg),
        *transfer_problems(cfg.model, t.epochs),
        *interpolation_problems(cfg.visualize.interpolation),
        *autoattack_problems(cfg),
        *faithfulness_problems(cfg.visualize.faithfulness),
    ]


def source_problems(cfg: DictConfig) -> list[tuple[bool, str]]:
    """Which model the stages read (trained here, `model.source`, pretrained), and what `predict` reads."""
    return [
        (
            bool(cfg.model.source) and bool(cfg.model.pretrained),
            "model.source and model.pretrained both name the model to analyse: set one",
        ),
        (
            bool(cfg.model.source) and "train" in cfg.stages,
            "model.source analyses a model trained before: leave train out of stages, e.g. stages=[visualize]",
        ),
        (
            not cfg.model.source and not cfg.model.pretrained and "train" not in cfg.stages,
            f"stages={list(cfg.stages)} need a trained model: add train, set model.source=<run id | models:/... | "
            "file.keras>, or analyse pretrained weights (model.pretrained=imagenet|hed|<file>)",
        ),
        (
            "predict" in cfg.stages and not cfg.predict.input,
            "stages=[predict] needs predict.input=<folder of images | file.npy>",
        ),
        (
            "predict" in cfg.stages and cfg.dataset.target != "label",
            f"the predict stage ranks classes; this dataset's target is {cfg.dataset.target}",
        ),
        (
            cfg.predict.top < 1 or cfg.predict.batch_size < 1,
            f"predict.top and predict.batch_size must be >= 1, got {cfg.predict.top} and {cfg.predict.batch_size}",
        ),
    ]


def dataset_problems(cfg: DictConfig) -> list[tuple[bool, str]]:
    """A subset's size, and pairs (the Siamese network's target) with what can use them."""
    d = cfg.dataset
    return [
        (
            (d.target == "pair") != (cfg.model.name == "siamese"),
            f"dataset.target=pair and model=siamese go together (got target {d.target}, model "
            f"{cfg.model.name}): experiment=siamese_digits sets both",
        ),
        (
            d.target == "pair" and bool({"visualize", "adversarial"} & set(cfg.stages)),
            "the visualize and adversarial stages explain and attack single images, not pairs: stages=[train]",
        ),
        (
            d.train_examples is not None and d.train_examples < 1,
            f"dataset.train_examples must be >= 1 (or null: all), got {d.train_examples}",
        ),
    ]


def transfer_problems(model: DictConfig, epochs: int) -> list[tuple[bool, str]]:
    """model.freeze_base and model.unfreeze_at settings that cannot mean what they say."""
    unfreeze = model.unfreeze_at
    return [
        (
            (model.freeze_base or unfreeze is not None) and not model.pretrained,
            "model.freeze_base and model.unfreeze_at need pretrained weights (model.pretrained=...)",
        ),
        (unfreeze is not None and not model.freeze_base, "model.unfreeze_at needs model.freeze_base=true"),
        (
            unfreeze is not None and not 0 < unfreeze < epochs,
            f"model.unfreeze_at must be an epoch in [1, {epochs}), got {unfreeze}",
        ),
    ]


def interpolation_problems(s: DictConfig) -> list[tuple[bool, str]]:
    """visualize.interpolation settings that cannot run: one image set without the other, a
    folder that is not there, no strengths."""
    folders = {"source_dir": s.source_dir, "target_dir": s.target_dir}
    return [
        (
            bool(s.source_dir) != bool(s.target_dir),
            "visualize.interpolation needs both source_dir (images without the attribute) and target_dir (with it)",
        ),
        *[
            (
                bool(path) and not Path(path).expanduser().is_dir(),
                f"visualize.interpolation.{key}={path} is not a folder",
            )
            for key, path in folders.items()
        ],
        (not s.strengths, "visualize.interpolation.strengths is empty: give at least one, e.g. [1.0]"),
        (s.steps < 1 or s.num_images < 1, "visualize.interpolation.steps and num_images must be >= 1"),
    ]


def autoattack_problems(cfg: DictConfig) -> list[tuple[bool, str]]:
    """adversarial.autoattack settings that cannot run: an unknown norm, no budget for it."""
    a = cfg.adversarial.autoattack
    return [
        (a.norm not in ("inf", "2"), f"adversarial.autoattack.norm must be inf or 2, got {a.norm}"),
        (
            a.eps is None and a.norm not in cfg.dataset.budgets,
            f"dataset.budgets names no budget for norm {a.norm}: set adversarial.autoattack.eps",
        ),
        (a.eps is not None and a.eps <= 0, f"adversarial.autoattack.eps must be > 0 or null, got {a.eps}"),
        (a.num_examples < 1, f"adversarial.autoattack.num_examples must be >= 1, got {a.num_examples}"),
        (
            not set(a.settings) <= set(AUTOATTACK_MEMBERS),
            f"adversarial.autoattack.settings names {sorted(set(a.settings) - set(AUTOATTACK_MEMBERS))}; "
            f"known: {', '.join(AUTOATTACK_MEMBERS)}",
        ),
    ]


def faithfulness_problems(f: DictConfig) -> list[tuple[bool, str]]:
    """visualize.faithfulness settings the metrics cannot use."""
    prefix, baselines = "visualize.faithfulness.", ", ".join(FAITHFULNESS_BASELINES)
    return [
        *[
            (f[k] not in FAITHFULNESS_BASELINES, f"{prefix}{k} must be one of {baselines}, got {f[k]}")
            for k in ("deletion_baseline", "insertion_baseline")
        ],
        *[
            (
                f[k] not in FAITHFULNESS_SCORES,
                f"{prefix}{k} must be one of {', '.join(FAITHFULNESS_SCORES)}, got {f[k]}",
            )
            for k in ("curve_score", "mufidelity_score")
        ],
        (
            f.correlation not in FAITHFULNESS_CORRELATIONS,
            f"{prefix}correlation must be one of {', '.join(FAITHFULNESS_CORRELATIONS)}, got {f.correlation}",
        ),
        *[(f[k] < 1, f"{prefix}{k} must be >= 1, got {f[k]}") for k in ("num_images", "steps", "grid", "batch_size")],
        (f.randomization_images < 1, f"{prefix}randomization_images must be >= 1, got {f.randomization_images}"),
        (f.samples < 2, f"{prefix}samples must be >= 2 (a correlation needs two), got {f.samples}"),
        (not 0 < f.subset < 1, f"{prefix}subset must be in (0, 1), got {f.subset}"),
    ]


def check_names(cfg: DictConfig) -> None:
    """Every name a config holds, against the registry of its kind (messages list the known names)."""
    STAGES.check(cfg.stages)
    OBJECTIVES.check(cfg.dataset.target)
    IMPLS.check(cfg.layers.impl)
    OPTIMIZERS.check(cfg.optimizer.name)
    SCHEDULES.check(cfg.optimizer.schedule)
    STRATEGIES.check(cfg.trainer.strategy)
    METHODS.check(cfg.visualize.methods or [])
    ATTRIBUTIONS.check(cfg.visualize.faithfulness.methods)
    if cfg.adversarial.autoattack.version:
        AUTOATTACK_VERSIONS.check(cfg.adversarial.autoattack.version)
    if cfg.trainer.adversarial.attack:
        TRAINING_ATTACKS.check(cfg.trainer.adversarial.attack)
    if cfg.model.pretrained:
        PRETRAINED_ARCHITECTURES.check(cfg.model.name)


def run_dir(cfg: DictConfig, output_dir: Path) -> Path:
    """This job's output directory, or with `trainer.resume` the run it continues."""
    if cfg.trainer.resume_dir:
        path = Path(cfg.trainer.resume_dir)
        if not (path / "checkpoints").is_dir():
            raise ConfigError(f"trainer.resume_dir={path} holds no checkpoints to resume from.")
        return path
    if cfg.trainer.resume:
        previous = latest_matching_run(cfg, output_dir)
        if previous is not None:
            return previous
        log.info("trainer.resume=true but no earlier run of this config has checkpoints; starting fresh.")
    if not os.access(output_dir, os.W_OK):
        raise ConfigError(f"The output directory {output_dir} is not writable.")
    return output_dir


def latest_matching_run(cfg: DictConfig, output_dir: Path) -> Path | None:
    """The newest sibling run directory with checkpoints whose config equals this one."""
    wanted = _comparable(cfg)
    candidates = sorted(output_dir.parent.glob("*/.hydra/config.yaml"), reverse=True)
    for config_file in candidates:
        folder = config_file.parent.parent
        if (
            folder != output_dir
            and (folder / "checkpoints").is_dir()
            and _comparable(OmegaConf.load(config_file)) == wanted
        ):
            return folder
    return None


def _comparable(cfg: DictConfig) -> dict:
    plain = OmegaConf.to_container(cfg, resolve=True)
    for key in RESUME_KEYS:
        plain["trainer"].pop(key, None)
    plain.pop("sweep_resume", None)
    return plain


def log_devices() -> None:
    """Say where training runs (TensorFlow's own CUDA messages are filtered from the console)."""
    gpus = tf.config.list_physical_devices("GPU")
    log.info("Devices: %s", f"{len(gpus)} GPU(s)" if gpus else "CPU (no GPU visible to TensorFlow)")


def preflight(cfg: DictConfig) -> None:
    """Fail before an MLflow run exists when the dataset is missing or its settings are wrong, or
    when the model to train would refuse its options or the data's shape."""
    tfds.disable_progress_bar()
    _, info = load(**load_arguments(cfg.dataset, "test"))
    if "train" in cfg.stages and not cfg.model.pretrained:
        check_architecture(cfg.model.name, info.input_shape, dict(cfg.model.options))
