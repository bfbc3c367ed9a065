"""Transfer learning: train a new head on a frozen pretrained base (`model.freeze_base`), then
unfreeze the base at epoch `model.unfreeze_at`, from which the learning rate is scaled by
`model.unfreeze_lr_scale` (the fine-tuning recipe of Keras's transfer-learning guide)."""

from __future__ import annotations

import logging

import keras
from omegaconf import DictConfig

from pipeline.models import head_start

log = logging.getLogger(__name__)


def base_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers before the head (all of them for a model without one)."""
    return model.layers[: head_start(model)]


def frozen_at(settings: DictConfig, epoch: int) -> bool:
    """Whether the base is frozen during `epoch` (0-based)."""
    return bool(settings.freeze_base) and (settings.unfreeze_at is None or epoch < settings.unfreeze_at)


def set_frozen(model: keras.Model, frozen: bool) -> None:
    """Freeze (batch norm then runs in inference mode) or unfreeze the base."""
    layers = base_layers(model)
    for layer in layers:
        layer.trainable = not frozen
    log.info("%s the pretrained base (%d layers)", "Froze" if frozen else "Unfroze", len(layers))


def lr_factor_at(settings: DictConfig, epoch: int) -> float:
    """The learning-rate factor during `epoch`: `unfreeze_lr_scale` once the base is unfrozen."""
    unfrozen = settings.freeze_base and settings.unfreeze_at is not None and epoch >= settings.unfreeze_at
    return float(settings.unfreeze_lr_scale) if unfrozen else 1.0
