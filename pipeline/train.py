"""The train stage: data -> model -> the training loop -> test metrics, figures and the model.

Reads the config, writes `model.keras`, `history.json` and figures into the run directory, and
logs params, per-epoch metrics, figures and the model to MLflow (on the chief only).
"""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig

from pipeline import figures, loop, schedules
from pipeline.data import load
from pipeline.models import build_model
from pipeline.trained import MODEL_FILE

log = logging.getLogger(__name__)




def run(cfg: DictConfig, run_dir: Path, mlflow_run, strategy: tf.distribute.Strategy) -> dict[str, float]:
    """Train, evaluate on the test split, save and log. Returns the test metrics."""
    configure(cfg.trainer)
    data = datasets(cfg, strategy)
    with strategy.scope():
        model = build_model(cfg.model.name, data["info"].input_shape, data["info"].num_classes,
                            impl=cfg.layers.impl, **cfg.model.options)
        optimizer = make_optimizer(cfg, data["steps_per_epoch"])
    checkpoints = loop.Checkpoints(run_dir, model, optimizer)
    first_epoch, history = checkpoints.restore()
    steps = loop.Steps(strategy, model, optimizer, cfg.dataset.target, cfg.trainer.batch_size, cfg.trainer.jit_compile,
                       adversary(cfg.trainer.adversarial, model), cfg.trainer.adversarial.ratio)
    train_iterator = iter(data["distribute"](data["train"](first_epoch)))
    log_metrics(mlflow_run, {"parameters": model.count_params()}, None)
    for epoch in range(first_epoch, cfg.trainer.epochs):
        log.info("Epoch %d/%d", epoch + 1, cfg.trainer.epochs)
        capped = min(data["steps_per_epoch"], cfg.trainer.steps_per_epoch or data["steps_per_epoch"])
        metrics = loop.train_epoch(steps, train_iterator, epoch, data["steps_per_epoch"], capped)
        validation = loop.evaluate(steps, data["validation"], cfg.trainer.eval_steps)
        metrics |= {"val_loss": validation["loss"], "val_accuracy": validation["accuracy"],
                    "learning_rate": current_lr(optimizer)}
        history.append({"epoch": epoch + 1, **metrics})
        log.info("  " + "  ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
        log_metrics(mlflow_run, metrics, epoch + 1)
        checkpoints.save(epoch + 1, history)
        if loop.early_stop(history, cfg.trainer.early_stopping_patience):
            log.info("Early stopping: no better validation loss for %d epochs", cfg.trainer.early_stopping_patience)
            break
    test = loop.evaluate(steps, data["test"], cfg.trainer.eval_steps)
    results = {"test_loss": test["loss"], "test_accuracy": test["accuracy"]}
    log_metrics(mlflow_run, results, None)
    finish(cfg, run_dir, mlflow_run, model, history, data)
    return results


def configure(trainer: DictConfig) -> None:
    """Seeds, op determinism, precision."""
    if trainer.seed is not None:
        keras.utils.set_random_seed(trainer.seed)
        if trainer.deterministic:
            tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_dtype_policy(trainer.precision)


def datasets(cfg: DictConfig, strategy: tf.distribute.Strategy) -> dict:
    """Train (a function of the first epoch), validation and test splits, distributed."""
    d, t = cfg.dataset, cfg.trainer
    common = dict(batch_size=t.batch_size, data_dir=d.data_dir, image_size=list(d.image_size) if d.image_size else None,
                  target=d.target, validation_fraction=d.validation_fraction, options=dict(d.options) or None,
                  download=d.download)
    _, info = load(d.name, "train", shuffle_seed=t.seed, **common)
    validation, _ = load(d.name, "validation" if d.validation_fraction else "test", **common)
    test, test_info = load(d.name, "test", **common)

    def train(first_epoch: int):
        ds, _ = load(d.name, "train", shuffle_seed=t.seed or 0, augment=d.augment, epochs=t.epochs,
                     first_epoch=first_epoch, **common)
        return ds

    def distribute_(ds: tf.data.Dataset):
        # Shard by example: TFDS splits of small datasets are single files, too few to shard by file.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return strategy.experimental_distribute_dataset(ds.with_options(options))

    return {"info": info, "test_info": test_info, "train": train, "validation": distribute_(validation),
            "test": distribute_(test), "test_local": test, "distribute": distribute_, "steps_per_epoch": math.ceil(info.num_examples / t.batch_size)}


def adversary(settings: DictConfig, model: keras.Model):
    """The attack adversarial training uses, or None for clean training."""
    if not settings.attack:
        return None
    from pipeline.attacks import FGSM, PGD

    log.info("Adversarial training: %s, eps %g, %.0f%% of each batch", settings.attack, settings.eps, 100 * settings.ratio)
    if settings.attack == "fgsm":
        return FGSM(model, eps=settings.eps)
    return PGD(model, eps=settings.eps, steps=settings.steps)


def make_optimizer(cfg: DictConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    o = cfg.optimizer
    lr = schedules.learning_rate(o.schedule, o.lr, steps_per_epoch, cfg.trainer.epochs, o.step_every, o.step_factor)
    settings = {"learning_rate": lr}
    if o.momentum is not None:
        settings["momentum"] = o.momentum
    if o.weight_decay is not None:
        settings["weight_decay"] = o.weight_decay
    try:
        optimizer = keras.optimizers.get({"class_name": o.name, "config": settings})
    except (ValueError, TypeError) as error:
        raise ValueError(f"Cannot make optimizer {o.name!r} with {settings}: {error}") from None
    if cfg.trainer.precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def current_lr(optimizer: keras.optimizers.Optimizer) -> float:
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return float(keras.ops.convert_to_numpy(inner.learning_rate))


def log_metrics(mlflow_run, metrics: dict, step: int | None) -> None:
    if mlflow_run is not None:
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)


def finish(cfg: DictConfig, run_dir: Path, mlflow_run, model: keras.Model, history: list, data: dict) -> None:
    """Save the model for the next stages; log figures, config and model to MLflow."""
    model.save(run_dir / MODEL_FILE)
    if mlflow_run is None:
        return
    import mlflow
    from omegaconf import OmegaConf

    mlflow.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
    mlflow.log_figure(figures.training_curves(history), "training_curves.png")
    x_example = next(iter(data["test_local"]))[0].numpy()[:4]
    if cfg.dataset.target == "label":
        labels, predictions = predict_all(model, data["test_local"], cfg.trainer.eval_steps)
        mlflow.log_figure(figures.confusion_matrix(labels, predictions, data["test_info"].class_names), "confusion_matrix.png")
    if cfg.tracking.log_model:
        log_model(model, x_example, cfg.tracking.registered_model_name, run_dir)


def predict_all(model: keras.Model, dataset, max_steps: int | None) -> tuple[np.ndarray, np.ndarray]:
    labels, predictions = [], []
    for i, (x, y) in enumerate(dataset):
        if max_steps is not None and i >= max_steps:
            break
        labels.append(y.numpy())
        predictions.append(np.argmax(model(x, training=False), axis=-1))
    return np.concatenate(labels), np.concatenate(predictions)


def log_model(model: keras.Model, x_example: np.ndarray, registered_name: str | None, run_dir: Path) -> None:
    """The model in MLflow's Keras format with a signature and an input example, under "model".

    `mlflow.keras.log_model(..., input_example=...)` fails in MLflow 3.17 (its `save_model`
    writes the example before creating the folder), so the model is saved into an existing
    folder of the run directory with `mlflow.keras.save_model` and that folder logged.
    """
    import mlflow
    from mlflow.models import infer_signature

    signature = infer_signature(x_example, np.asarray(model(x_example, training=False)))
    folder = run_dir / "mlflow_model"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    requirements = [f"tensorflow=={tf.__version__}", f"keras=={keras.__version__}"]  # no inference: it cannot import our layers
    mlflow.keras.save_model(model, str(folder), signature=signature, input_example=x_example, pip_requirements=requirements)
    mlflow.log_artifacts(str(folder), "model")
    if registered_name:
        mlflow.register_model(f"runs:/{mlflow.active_run().info.run_id}/model", registered_name)
