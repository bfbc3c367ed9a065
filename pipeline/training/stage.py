"""The train stage: data -> model -> the training loop -> test metrics, figures and the model.

Writes `model.keras`, `history.json`, checkpoints and its figures into the run directory, and
logs per-epoch metrics, figures and the model to MLflow (on the chief only).
"""

from __future__ import annotations

import logging
import warnings

import keras
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from pipeline import tracking
from pipeline.attacks import make_attack
from pipeline.drawing import Panel
from pipeline.models import build_model, flops
from pipeline.stages import report
from pipeline.stages.context import StageContext
from pipeline.stages.inputs import MODEL_FILE, sample_test_split
from pipeline.training import loop, plots, transfer
from pipeline.training.checkpoints import Checkpoints
from pipeline.training.data import Datasets, datasets
from pipeline.training.evaluation import Evaluation
from pipeline.training.evaluation import panels as task_panels
from pipeline.training.objectives import OBJECTIVES
from pipeline.training.optimizers import current_lr, lr_factor, make_optimizer
from pipeline.training.pairs import PairScores, pair_aucs, pair_scores, roc_panel
from pipeline.training.strategies import gathering, lost_workers

log = logging.getLogger(__name__)

STAGE = "train"


def run_stage(context: StageContext) -> dict[str, float]:
    """Train, evaluate on the test split, save and log. Returns the test metrics."""
    cfg = context.cfg
    configure(cfg.trainer)
    data = datasets(cfg, context.strategy)
    data.log_inputs()
    model, optimizer = build(cfg, data)
    with lost_workers(context.strategy):
        steps, history = fit(context, data, model, optimizer)
        test = loop.totals(steps, data.test)
    results = {f"test_{k}": v for k, v in loop.summarize(steps, test).items()}  # the target's metrics
    predictor = steps.predictor  # the model without auxiliary heads: what is counted, saved and used
    pairs = pair_scores(predictor, data.test_local) if cfg.dataset.target == "pair" else None
    if pairs is not None:
        results |= pair_aucs(pairs)
    predictor.save(context.run_dir / MODEL_FILE)
    if context.mlflow_run is not None:  # the chief
        publish(context, predictor, history, data, Evaluation(test, results, steps.names), pairs)
    final = {k: v for k, v in history[-1].items() if k.startswith("val_")} if history else {}
    return results | final  # the last epoch's validation numbers too: sweeps may optimise them


def fit(
    context: StageContext, data: Datasets, model: keras.Model, optimizer: keras.optimizers.Optimizer
) -> tuple[loop.Steps, list[dict]]:
    """The epochs, from the last checkpoint on: the steps of the last epoch and the history."""
    cfg, t = context.cfg, context.cfg.trainer
    gather = gathering(context.strategy)  # what the workers agree on; None for one process
    checkpoints = Checkpoints(context.run_dir, model, optimizer, gather)
    with context.strategy.scope():  # restoring builds the optimizer's variables
        first_epoch, history = checkpoints.restore()
    steps = make_steps(context, model, optimizer, first_epoch, data.test_info.class_names)
    predictor = steps.predictor
    tracking.log_metrics({"parameters": predictor.count_params(), "flops": flops(predictor)})  # MACs per example
    train_steps = min(data.steps_per_epoch, t.steps_per_epoch or data.steps_per_epoch)
    if train_steps < data.steps_per_epoch:
        warnings.warn(
            f"trainer.steps_per_epoch={t.steps_per_epoch}: training on {train_steps} of "
            f"{data.steps_per_epoch} batches per epoch (a debugging cap)",
            stacklevel=1,
        )
    iterator = data.train_iterator(first_epoch)
    pace = loop.Pace(t.steps_per_execution, loop.agreement(gather))
    for epoch in range(first_epoch, t.epochs):
        log.info("Epoch %d/%d", epoch + 1, t.epochs)
        if epoch and epoch == cfg.model.unfreeze_at:
            steps = make_steps(context, model, optimizer, epoch, data.test_info.class_names)
        metrics = loop.train_epoch(steps, iterator, epoch, data.steps_per_epoch, train_steps, pace)
        validation = loop.evaluate(steps, data.validation)
        metrics |= {f"val_{k}": v for k, v in validation.items() if "/" not in k}  # per class: the test split's
        metrics["learning_rate"] = current_lr(optimizer)
        history.append({"epoch": epoch + 1, **metrics})
        log.info("  " + "  ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
        tracking.log_metrics(metrics, step=epoch + 1)
        tracking.heartbeat()
        checkpoints.save(epoch + 1, history)
        if loop.early_stop(history, t.early_stopping_patience):
            log.info("Early stopping: no better validation loss for %d epochs", t.early_stopping_patience)
            break
    return steps, history


def build(cfg: DictConfig, data: Datasets) -> tuple[keras.Model, keras.optimizers.Optimizer]:
    """The model (pretrained when asked) and its optimizer, built here on every trainable
    variable: unfreezing a frozen base later changes no optimizer state, and under a strategy of
    several replicas the optimizer's slots are mirrored variables made in its scope (made lazily
    inside the first compiled step, they fail to initialise)."""
    t = cfg.trainer
    with data.strategy.scope():
        model = build_model(
            cfg.model.name,
            data.info.input_shape,
            data.info.num_classes,
            impl=cfg.layers.impl,
            pretrained=cfg.model.pretrained,
            **cfg.model.options,
        )
        scalable = cfg.model.unfreeze_at is not None
        optimizer = make_optimizer(cfg.optimizer, data.steps_per_epoch, t.epochs, t.precision, scalable)
        optimizer.build(model.trainable_variables)
    return model, optimizer


def make_steps(
    context: StageContext, model: keras.Model, optimizer, epoch: int, class_names: tuple[str, ...]
) -> loop.Steps:
    """The compiled steps for `epoch`: the base frozen or not (a change needs a retrace)."""
    cfg, t = context.cfg, context.cfg.trainer
    if cfg.model.freeze_base:
        transfer.set_frozen(model, transfer.frozen_at(cfg.model, epoch))
    factor = lr_factor(optimizer)
    if factor is not None:
        factor.assign(transfer.lr_factor_at(cfg.model, epoch))
    return loop.Steps(
        context.strategy,
        model,
        optimizer,
        cfg.dataset.target,
        t.batch_size,
        t.jit_compile,
        adversary(t, loop.main_model(model)),
        t.adversarial.ratio,
        tuple(class_names),
    )


def configure(trainer: DictConfig) -> None:
    """Seeds, op determinism, precision."""
    keras.utils.set_random_seed(trainer.seed)
    if trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_dtype_policy(trainer.precision)


def adversary(trainer: DictConfig, model: keras.Model):
    """The attack adversarial training uses, or None for clean training."""
    settings = trainer.adversarial
    if not settings.attack:
        return None
    log.info(
        "Adversarial training: %s, eps %g, %.0f%% of each batch", settings.attack, settings.eps, 100 * settings.ratio
    )
    return make_attack(settings.attack, model, eps=settings.eps, steps=settings.steps, seed=trainer.seed)


def publish(
    context: StageContext,
    model: keras.Model,
    history: list,
    data: Datasets,
    evaluation: Evaluation,
    pairs: PairScores | None = None,
) -> None:
    """Log the config, the training figures, the test split's figures and metrics; log the model
    when asked."""
    cfg = context.cfg
    target = cfg.dataset.target
    tracking.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
    objective = OBJECTIVES[target]
    curves = list(dict.fromkeys(["loss", objective.running, objective.headline[0]]))
    panels = [
        Panel(
            "training_curves",
            plots.training_curves(history, [m for m in curves if any(f"val_{m}" in h for h in history)]),
            "The loss and the task's metrics per epoch on the training batches and the validation split.",
        ),
        *task_panels(target, model, data.test_local, evaluation, context.run_dir / STAGE),
    ]
    if pairs is not None:
        panels.append(roc_panel(pairs))
    report.publish(context.run_dir, STAGE, panels, evaluation.results)
    if cfg.tracking.log_model:
        x_example = sample_test_split(cfg, 4)[0]
        tracking.log_model(
            context.run_dir / MODEL_FILE,
            x_example,
            cfg.tracking.registered_model_name,
            cfg.tracking.registered_model_alias,
        )
