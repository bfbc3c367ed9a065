"""Pieces of the train stage against hand-computed values: schedules, early stopping, losses."""

import math

import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from pipeline import loop, schedules


def test_step_schedule_divides_every_step_every_epochs():
    lr = schedules.learning_rate("step", 0.1, steps_per_epoch=10, epochs=30, step_every=10, step_factor=0.1)
    assert [round(float(lr(s)), 6) for s in (0, 99, 100, 199, 200, 299)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]


def test_cosine_and_one_cycle_shapes():
    cosine = schedules.learning_rate("cosine", 0.1, 10, 10, 10, 0.1)
    assert float(cosine(0)) == pytest.approx(0.1) and float(cosine(50)) == pytest.approx(0.05) and float(cosine(100)) == pytest.approx(0.0)
    one_cycle = schedules.learning_rate("one_cycle", 0.1, 10, 10, 10, 0.1)
    values = [float(one_cycle(s)) for s in range(101)]
    assert values[0] == pytest.approx(0.1 / 25) and max(values) == pytest.approx(0.1, rel=1e-3)
    assert int(np.argmax(values)) == 30 and values[-1] == pytest.approx(0.1 / 1e4, rel=1e-2)
    assert schedules.learning_rate("constant", 0.1, 10, 10, 10, 0.1) == 0.1


@pytest.mark.parametrize(
    "losses, patience, stop",
    [([1.0, 0.9, 0.8], 2, False), ([1.0, 0.9, 0.95, 0.92], 2, True), ([1.0, 0.9, 0.95, 0.85], 2, False), ([1.0, 2.0], None, False)],
)
def test_early_stopping_counts_epochs_without_a_better_validation_loss(losses, patience, stop):
    assert loop.early_stop([{"val_loss": v} for v in losses], patience) is stop


def test_losses_and_accuracy_by_target():
    logits = tf.constant([[2.0, 0.0], [0.0, 1.0]])
    labels = tf.constant([0, 0])
    expected = [math.log(1 + math.exp(-2.0)), math.log(1 + math.exp(1.0))]
    np.testing.assert_allclose(loop.per_example_loss("label", labels, logits), expected, rtol=1e-6)
    assert float(loop.correct_count("label", labels, logits)) == 1.0
    masks = tf.constant([[[0, 1], [1, 1]]])  # one 2x2 example, 3 of 4 pixels predicted right
    pixel_logits = tf.constant([[[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]]])
    assert float(loop.correct_count("mask", masks, pixel_logits)) == pytest.approx(0.75)
    images = tf.ones((2, 2, 2, 1))
    np.testing.assert_allclose(loop.per_example_loss("image", images, images * 0.5), [0.25, 0.25])


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_adversarial_training_attacks_the_first_share_of_each_batch(attack):
    import keras

    from pipeline.attacks import FGSM
    from pipeline.models import build_model
    from pipeline.train import adversary

    keras.utils.set_random_seed(0)
    model = build_model("linear", (6, 6, 1), 3)
    settings = {"attack": attack, "eps": 0.1, "steps": 3, "ratio": 0.5}
    steps = loop.Steps(tf.distribute.get_strategy(), model, keras.optimizers.SGD(0.1), "label", 8,
                       adversary=adversary(OmegaConf.create(settings), model), adversarial_ratio=0.5)
    x = np.random.default_rng(0).uniform(0.2, 0.8, size=(8, 6, 6, 1)).astype(np.float32)
    y = np.arange(8) % 3
    mixed = tf.function(steps._mix_adversarial)(tf.constant(x), tf.constant(y, tf.int32)).numpy()
    np.testing.assert_array_equal(mixed[4:], x[4:])  # the clean half is untouched
    delta = np.abs(mixed[:4] - x[:4])
    assert delta.max() <= 0.1 + 1e-6 and delta.max() > 0.09
    if attack == "fgsm":
        np.testing.assert_allclose(mixed[:4], FGSM(model, eps=0.1)(x[:4], y[:4]), atol=1e-6)
    steps.train(iter([(x, y)]))  # a training step runs with the attack inside
    assert int(steps.optimizer.iterations.numpy()) == 1
