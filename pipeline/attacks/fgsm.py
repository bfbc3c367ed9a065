"""FGSM, the fast gradient sign method (Goodfellow, Shlens and Szegedy, "Explaining and
harnessing adversarial examples", ICLR 2015). L-infinity; one step: x + eps * sign(dL/dx)."""

from __future__ import annotations

import keras
import tensorflow as tf

from pipeline.attacks.base import ATTACKS, Attack


@ATTACKS.register("fgsm")
class FGSM(Attack):
    """One signed gradient step of size `eps` (a scalar or one per example), then clipped."""

    def __init__(self, model: keras.Model, eps: float = 8 / 255, **kwargs):
        super().__init__(model, **kwargs)
        self.eps = eps

    def budget(self, x: tf.Tensor) -> tuple:
        return (self.per_example(self.eps, x),)

    def perturb(self, x: tf.Tensor, y: tf.Tensor, keys: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
        return self.clip_to_range(x + eps * tf.sign(self.gradient(x, y)))
