"""The train stage: one training path (a `strategy.run` step) for every tf.distribute strategy,
with checkpoints and resumption, schedules, optimizers and strategies by name, and its figures.

>>> from pipeline.training import OPTIMIZERS, SCHEDULES, make_optimizer
>>> sorted(SCHEDULES)
['constant', 'cosine', 'one_cycle', 'step']
"""

from pipeline.training.checkpoints import resolve_seed
from pipeline.training.loop import NonFiniteLossError, Steps, early_stop, evaluate, per_example_loss, running_total
from pipeline.training.objectives import OBJECTIVES, default_metric, headline
from pipeline.training.optimizers import OPTIMIZERS, make_optimizer
from pipeline.training.schedules import SCHEDULES, OneCycle, learning_rate
from pipeline.training.strategies import STRATEGIES, is_chief, make_strategy

__all__ = [
    "OBJECTIVES",
    "OPTIMIZERS",
    "SCHEDULES",
    "STRATEGIES",
    "NonFiniteLossError",
    "OneCycle",
    "Steps",
    "default_metric",
    "early_stop",
    "evaluate",
    "headline",
    "is_chief",
    "learning_rate",
    "make_optimizer",
    "make_strategy",
    "per_example_loss",
    "resolve_seed",
    "running_total",
]
