"""DeepFool (Moosavi-Dezfooli, Fawzi and Frossard, CVPR 2016): the minimal L2 perturbation that
crosses the nearest decision boundary of the linearised classifier, repeated until the
prediction changes, then pushed `overshoot` further. Untargeted; `y` is not used (it moves away
from the current prediction)."""

from __future__ import annotations

import keras
import tensorflow as tf

from pipeline.attacks.base import ATTACKS, Attack
from pipeline.attacks.norms import L2Norm


@ATTACKS.register("deepfool")
class DeepFool(Attack):
    """Up to `steps` linearised steps against the `candidates` classes scored highest on x.

    Raises:
        ValueError: `targeted=True`: DeepFool crosses the nearest boundary, whichever class it is.
    """

    budget_name = None  # it finds its own size

    def __init__(self, model: keras.Model, steps: int = 50, overshoot: float = 0.02, candidates: int = 10, **kwargs):
        if kwargs.get("targeted"):
            raise ValueError(
                "Invalid value for argument `targeted`. DeepFool is untargeted: it crosses the nearest "
                "class boundary. Received: targeted=True"
            )
        super().__init__(model, **kwargs)
        self.steps, self.overshoot, self.candidates = int(steps), float(overshoot), int(candidates)

    def _boundary_step(self, x_adv: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
        """The L2-smallest step onto the nearest linearised boundary between classes[:, 0] and the others."""
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x_adv)
            scores = tf.gather(self.logits(x_adv), classes, axis=1, batch_dims=1)  # (N, k)
            picked = [tf.reduce_sum(scores[:, j]) for j in range(classes.shape[1])]
        grads = tf.stack([tape.gradient(p, x_adv) for p in picked], axis=1)  # (N, k, ...)
        del tape
        f = scores[:, 1:] - scores[:, :1]  # < 0 while the original class still wins
        w = grads[:, 1:] - grads[:, :1]
        w_norm = tf.reshape(L2Norm.size(tf.reshape(w, [-1, *x_adv.shape[1:]])), tf.shape(f))
        nearest = tf.argmin(tf.abs(f) / w_norm, axis=1)
        f_l = tf.gather(f, nearest, axis=1, batch_dims=1)
        w_l = tf.gather(w, nearest, axis=1, batch_dims=1)
        scale = (tf.abs(f_l) + 1e-4) / tf.square(tf.gather(w_norm, nearest, axis=1, batch_dims=1))
        return self.per_example(scale, x_adv) * w_l

    def perturb(self, x: tf.Tensor, y: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
        logits = self.logits(x)
        classes = tf.math.top_k(logits, min(self.candidates, logits.shape[-1])).indices  # [:, 0] is the prediction
        total = tf.zeros_like(x)
        for _ in tf.range(self.steps):
            x_adv = self.clip_to_range(x + (1 + self.overshoot) * total)
            active = tf.equal(tf.argmax(self.logits(x_adv), axis=-1, output_type=tf.int32), classes[:, 0])
            if not tf.reduce_any(active):
                break
            total += self.per_example(tf.cast(active, tf.float32), x) * self._boundary_step(x_adv, classes)
        return self.clip_to_range(x + (1 + self.overshoot) * total)
