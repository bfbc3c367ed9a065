"""The lecture's attack: one unnormalised step up the loss, x + step_size * dL/dx (the slide's
x + 0.005 * dL(y(x), y_gt)/dx). Unlike FGSM, its size follows the gradient's magnitude."""

from __future__ import annotations

import keras
import tensorflow as tf

from pipeline.attacks.base import ATTACKS, Attack


@ATTACKS.register("gradient_step")
class GradientStep(Attack):
    """x + step_size * dL/dx, clipped to the data range."""

    budget_name = "step_size"

    def __init__(self, model: keras.Model, step_size: float = 0.005, **kwargs):
        super().__init__(model, **kwargs)
        self.step_size = step_size

    def budget(self, x: tf.Tensor) -> tuple:
        return (self.per_example(self.step_size, x),)

    def perturb(self, x: tf.Tensor, y: tf.Tensor, keys: tf.Tensor, step_size: tf.Tensor) -> tf.Tensor:
        return self.clip_to_range(x + step_size * self.gradient(x, y))
