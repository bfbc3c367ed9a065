"""PGD, projected gradient descent (Madry et al., "Towards deep learning models resistant to
adversarial attacks", ICLR 2018), in L-infinity or L2, with a random start inside the ball;
and BIM, the basic iterative method (Kurakin, Goodfellow and Bengio 2017): PGD in L-infinity
from the image itself."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.attacks.base import ATTACKS, Attack
from pipeline.attacks.norms import norm as norm_named


@ATTACKS.register("pgd")
class PGD(Attack):
    """`steps` steps of `step_size` along the norm's steepest direction, each projected back into
    the `eps`-ball around x and into the data range. Defaults: L-inf, eps 8/255, 10 steps of
    2.5 * eps / steps (Madry et al.'s rule, used when `step_size` is None), random start. `seed`
    makes the random starts reproducible (each call draws anew)."""

    budget_inputs = ("step_size",)

    def __init__(
        self,
        model: keras.Model,
        eps: float = 8 / 255,
        step_size: float | None = None,
        steps: int = 10,
        norm: str = "inf",
        random_start: bool = True,
        targeted: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(model, targeted=targeted, seed=seed, **kwargs)
        if steps < 1:
            raise ValueError(
                f"Invalid value for argument `steps`. Expected a positive integer. Received: steps={steps}"
            )
        self.eps, self.step_size, self.steps = eps, step_size, int(steps)
        self.norm, self.random_start = norm_named(norm), random_start

    def budget(self, x: tf.Tensor) -> tuple:
        step = np.asarray(self.eps, np.float32) * 2.5 / self.steps if self.step_size is None else self.step_size
        return self.per_example(self.eps, x), self.per_example(step, x)

    def perturb(self, x: tf.Tensor, y: tf.Tensor, keys: tf.Tensor, eps: tf.Tensor, step_size: tf.Tensor) -> tf.Tensor:
        delta = self.norm.random(x, eps, keys) if self.random_start else tf.zeros_like(x)
        x_adv = self.clip_to_range(x + delta)
        for _ in tf.range(self.steps):
            x_adv = x_adv + step_size * self.norm.direction(self.gradient(x_adv, y))
            x_adv = self.clip_to_range(x + self.norm.project(x_adv - x, eps))
        return x_adv


@ATTACKS.register("bim")
class BIM(PGD):
    """The basic iterative method: L-infinity PGD without the random start."""

    def __init__(
        self, model: keras.Model, eps: float = 8 / 255, step_size: float | None = None, steps: int = 10, **kwargs
    ):
        super().__init__(model, eps=eps, step_size=step_size, steps=steps, norm="inf", random_start=False, **kwargs)
