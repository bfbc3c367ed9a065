"""What APGD and FAB-T share: an attack made of runs, one per target class and restart, each on
the examples that every run before it left standing (AutoAttack's early stop inside a member)."""

from __future__ import annotations

import keras
import tensorflow as tf

from pipeline.attacks import randomness
from pipeline.attacks.base import Attack
from pipeline.attacks.norms import norm as norm_named


class StandingRuns(Attack):
    """Base of APGD and FAB: `steps` iterations per run in the `norm` ball of radius `eps`;
    `restarts` runs per target; with `per_target`, a target for each of the `target_classes`
    classes ranked highest by the clean logits after the true one, else one untargeted target.
    Subclasses write `run(index, rows, keys) -> (found, broken)`."""

    in_graph = False  # runs go on only with the examples still standing
    autograph = False  # its loops are tf.while_loops

    def __init__(
        self,
        model: keras.Model,
        eps: float,
        norm: str,
        steps: int,
        restarts: int,
        target_classes: int,
        per_target: bool,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(model, seed=seed, **kwargs)  # y holds the true labels, targeted or not
        if steps < 1 or restarts < 1 or target_classes < 1:
            raise ValueError(
                f"{type(self).__name__} needs steps, restarts and target_classes >= 1, "
                f"got {steps}, {restarts}, {target_classes}"
            )
        self.eps, self.steps = eps, int(steps)
        self.norm, self.norm_name = norm_named(norm), str(norm)
        self.restarts, self.target_classes, self.per_target = int(restarts), int(target_classes), bool(per_target)

    def budget(self, x: tf.Tensor) -> tuple:
        return (self.per_example(self.eps, x),)

    def __call__(self, x, y, seed=None, keys=None) -> tf.Tensor:
        """The adversarial batch: each example's point the runs found, else the example itself."""
        x, y = self.inputs(x, y)
        (eps,), keys = self.budget(x), self.keys(x, seed, keys)
        logits = self.in_batches(self.logits, x)
        self.check_classes(int(logits.shape[-1]))
        adversarial, robust = x, tf.argmax(logits, axis=1, output_type=tf.int32) == y
        ranked = tf.argsort(logits, axis=1, direction="DESCENDING", stable=True)
        for index, rank in enumerate(self.schedule(int(logits.shape[-1]))):
            left = tf.where(robust)[:, 0]
            if tf.size(left) == 0:
                break
            target = tf.gather(ranked[:, rank] if rank else y, left)
            rows = (tf.gather(x, left), tf.gather(y, left), tf.gather(eps, left), target)
            found, broken = self.run(index, rows, randomness.derive(tf.gather(keys, left), index))
            hit = tf.boolean_mask(left, broken)
            adversarial = tf.tensor_scatter_nd_update(adversarial, hit[:, None], tf.boolean_mask(found, broken))
            robust = tf.tensor_scatter_nd_update(robust, hit[:, None], tf.zeros_like(hit, tf.bool))
        return adversarial

    def schedule(self, classes: int) -> list[int]:
        """The target rank of each run, restarts included: 0 is untargeted; the targets are the
        classes ranked 1, 2, ... by the clean logits (only correctly classified examples are
        attacked, so rank 0 is the true class)."""
        ranks = range(1, min(self.target_classes, classes - 1) + 1) if self.per_target else [0]
        return [rank for rank in ranks for _ in range(self.restarts)]

    def check_classes(self, classes: int) -> None:
        """Refuse a model with too few classes for the attack's loss."""

    def run(self, index: int, rows: tuple, keys: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Run `index` of `schedule` on `rows` (x, y, eps, target) of the examples still standing:
        the points it found and which of them are adversarial within the budget."""
        raise NotImplementedError
