"""FusedAdam (one ResourceApplyAdam kernel per variable) against Keras's Adam: the same weights and
slots after many steps, eagerly, traced, XLA-compiled, under a distribution strategy and loss
scaling; AMSGrad takes Keras's path."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline.training.fused_adam import FusedAdam

SHAPES = [(5, 5, 1, 6), (6,), (120, 84), (3,)]


def train(optimizer_class, steps: int = 30, wrap=None, jit: bool | None = None, strategy=None, **settings):
    """Weights and optimizer slots after `steps` updates from fixed weights and gradients."""
    rng = np.random.default_rng(0)
    start = [rng.normal(size=s).astype("float32") for s in SHAPES]
    gradients = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(steps)]
    with (strategy or tf.distribute.get_strategy()).scope():
        variables = [keras.Variable(w) for w in start]
        optimizer = optimizer_class(**settings)
        optimizer = wrap(optimizer) if wrap else optimizer
        optimizer.build(variables)

    def update(grads):
        optimizer.apply_gradients(zip(grads, variables))

    step = update if jit is None else tf.function(update, jit_compile=jit)
    if strategy is not None:  # as the training loop runs it: a replica step
        step = tf.function(lambda grads: strategy.run(update, args=(grads,)))
    for grads in gradients:
        step([tf.constant(g) for g in grads])
    return [v.numpy() for v in variables], [v.numpy() for v in optimizer.variables]


@pytest.mark.parametrize(
    "settings",
    [
        {"learning_rate": 1e-2},
        {"learning_rate": keras.optimizers.schedules.CosineDecay(3e-2, 30), "beta_1": 0.8, "epsilon": 1e-4},
        {"learning_rate": 1e-2, "weight_decay": 0.05, "clipnorm": 1.0},
        {"learning_rate": 1e-2, "amsgrad": True},
    ],
    ids=["plain", "schedule", "decay-clip", "amsgrad"],
)
@pytest.mark.parametrize("jit", [None, False, True], ids=["eager", "traced", "xla"])
def test_fused_adam_is_keras_adam(settings, jit):
    weights, slots = train(FusedAdam, jit=jit, **settings)
    expected_weights, expected_slots = train(keras.optimizers.Adam, jit=jit, **settings)
    assert len(slots) == len(expected_slots)  # the same slots: checkpoints carry over
    for got, want in zip(weights + slots, expected_weights + expected_slots):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # round-off of 30 steps of 1e-2


def test_under_a_mirrored_strategy_and_loss_scaling():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    weights, _ = train(FusedAdam, wrap=keras.optimizers.LossScaleOptimizer, strategy=strategy)
    expected, _ = train(keras.optimizers.Adam, wrap=keras.optimizers.LossScaleOptimizer, jit=False)
    for got, want in zip(weights, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # round-off of 30 steps of 1e-2


def test_the_traced_update_is_one_kernel_per_variable():
    variables = [keras.Variable(np.ones(s, "float32")) for s in SHAPES]
    optimizer = FusedAdam(1e-3)
    optimizer.build(variables)
    graph = (
        tf.function(lambda grads: optimizer.apply_gradients(zip(grads, variables)))
        .get_concrete_function([tf.TensorSpec(s, tf.float32) for s in SHAPES])
        .graph
    )
    ops = [op.type for op in graph.get_operations()]
    assert ops.count("ResourceApplyAdam") == len(SHAPES)
    assert "Sqrt" not in ops  # none of Keras's per-variable arithmetic is left
