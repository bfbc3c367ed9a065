"""Adversarial attacks, Keras-3 native: each a class built with the model and its budget, called
as `attack(x, y) -> x_adv` on a batch inside one compiled `tf.function`; they clip to the data
range, use the cross-entropy of the logits, and work on models from `layers/` and `keras.layers`.

>>> from pipeline.attacks import PGD, robust_accuracy
>>> x_adv = PGD(model, eps=0.1, step_size=0.02, steps=20)(x, y)
>>> robust_accuracy(model, PGD, x, y, [0.0, 0.05, 0.1])   # {0.0: 0.98, 0.05: 0.7, 0.1: 0.2}
"""

from pipeline.attacks.base import Attack
from pipeline.attacks.deepfool import DeepFool
from pipeline.attacks.evaluate import accuracy, robust_accuracy
from pipeline.attacks.fgsm import FGSM
from pipeline.attacks.gradient_step import GradientStep
from pipeline.attacks.minimal import MinimalPerturbation, MinimalResult
from pipeline.attacks.pgd import BIM, PGD

ATTACKS = {"fgsm": FGSM, "gradient_step": GradientStep, "bim": BIM, "pgd": PGD, "deepfool": DeepFool}

__all__ = ["ATTACKS", "BIM", "PGD", "Attack", "DeepFool", "FGSM", "GradientStep", "MinimalPerturbation", "MinimalResult",
           "accuracy", "robust_accuracy"]
