"""Adversarial attacks, Keras-3 native: each a class built with the model and its budget, called
as `attack(x, y) -> x_adv` on a batch inside one compiled `tf.function`; they clip to the data
range, use the cross-entropy of the logits, and work on models from `layers/` and `keras.layers`.

>>> from pipeline.attacks import PGD, robust_accuracy
>>> x_adv = PGD(model, eps=0.1, step_size=0.02, steps=20)(x, y)
>>> robust_accuracy(model, PGD, x, y, [0.0, 0.05, 0.1])   # {0.0: 0.98, 0.05: 0.7, 0.1: 0.2}
"""

import inspect

import keras

from pipeline.attacks.apgd import APGD
from pipeline.attacks.autoattack import MEMBERS as AUTOATTACK_MEMBERS
from pipeline.attacks.autoattack import VERSIONS as AUTOATTACK_VERSIONS
from pipeline.attacks.autoattack import AutoAttack, AutoAttackResult
from pipeline.attacks.base import ATTACKS, Attack
from pipeline.attacks.deepfool import DeepFool
from pipeline.attacks.evaluate import accuracy, robust_accuracy
from pipeline.attacks.fab import FAB
from pipeline.attacks.fgsm import FGSM
from pipeline.attacks.gradient_step import GradientStep
from pipeline.attacks.minimal import MinimalPerturbation, MinimalResult
from pipeline.attacks.pgd import BIM, PGD
from pipeline.attacks.square import Square
from pipeline.registry import Registry


def _training_attacks() -> Registry[type[Attack]]:
    """The attacks adversarial training can use: an L-inf `eps` budget, callable inside the
    training step."""
    found: Registry[type[Attack]] = Registry("trainer.adversarial.attack")
    for name, cls in ATTACKS.items():
        if cls.budget_name == "eps" and cls.in_graph:
            found.register(name, cls)
    return found


TRAINING_ATTACKS = _training_attacks()


def make_attack(name: str, model: keras.Model, **settings) -> Attack:
    """The attack registered as `name`, built with the settings its constructor takes (FGSM has
    no `steps`: a `steps` setting is left out for it)."""
    cls = ATTACKS[name]
    taken = set(inspect.signature(cls).parameters) | set(inspect.signature(Attack).parameters)  # kwargs go to the base
    return cls(model, **{k: v for k, v in settings.items() if k in taken})


__all__ = [
    "APGD",
    "ATTACKS",
    "AUTOATTACK_MEMBERS",
    "AUTOATTACK_VERSIONS",
    "BIM",
    "FAB",
    "FGSM",
    "PGD",
    "Square",
    "TRAINING_ATTACKS",
    "Attack",
    "AutoAttack",
    "AutoAttackResult",
    "DeepFool",
    "GradientStep",
    "MinimalPerturbation",
    "MinimalResult",
    "accuracy",
    "make_attack",
    "robust_accuracy",
]
