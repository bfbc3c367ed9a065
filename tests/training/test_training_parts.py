"""Pieces of the train stage against hand-computed values: schedules, early stopping, losses."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from pipeline.training import Steps, early_stop, evaluate, learning_rate, per_example_loss, running_total
from pipeline.training.stage import adversary


def schedule(name: str, lr: float = 0.1, step_every: int = 10, step_factor: float = 0.1) -> dict:
    return {"schedule": name, "lr": lr, "step_every": step_every, "step_factor": step_factor}


def test_step_schedule_divides_every_step_every_epochs():
    lr = learning_rate(schedule("step"), steps_per_epoch=10, epochs=30)
    assert [round(float(lr(s)), 6) for s in (0, 99, 100, 199, 200, 299)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]


def test_cosine_and_one_cycle_shapes():
    cosine = learning_rate(schedule("cosine"), 10, 10)
    assert (
        float(cosine(0)) == pytest.approx(0.1)
        and float(cosine(50)) == pytest.approx(0.05)
        and float(cosine(100)) == pytest.approx(0.0)
    )
    one_cycle = learning_rate(schedule("one_cycle"), 10, 10)
    values = [float(one_cycle(s)) for s in range(101)]
    assert values[0] == pytest.approx(0.1 / 25) and max(values) == pytest.approx(0.1, rel=1e-3)
    assert int(np.argmax(values)) == 30 and values[-1] == pytest.approx(0.1 / 1e4, rel=1e-2)
    assert learning_rate(schedule("constant"), 10, 10) == 0.1


@pytest.mark.parametrize(
    "losses, patience, stop",
    [
        ([1.0, 0.9, 0.8], 2, False),
        ([1.0, 0.9, 0.95, 0.92], 2, True),
        ([1.0, 0.9, 0.95, 0.85], 2, False),
        ([1.0, 2.0], None, False),
    ],
)
def test_early_stopping_counts_epochs_without_a_better_validation_loss(losses, patience, stop):
    assert early_stop([{"val_loss": v} for v in losses], patience) is stop


def test_losses_and_accuracy_by_target():
    logits = tf.constant([[2.0, 0.0], [0.0, 1.0]])
    labels = tf.constant([0, 0])
    expected = [math.log(1 + math.exp(-2.0)), math.log(1 + math.exp(1.0))]
    np.testing.assert_allclose(per_example_loss("label", labels, logits), expected, rtol=1e-6)
    assert float(running_total("label", labels, logits)) == 1.0
    masks = tf.constant([[[0, 1], [1, 1]]])  # one 2x2 example, 3 of 4 pixels predicted right
    pixel_logits = tf.constant([[[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]]])
    assert float(running_total("mask", masks, pixel_logits)) == pytest.approx(0.75)
    images = tf.ones((2, 2, 2, 1))
    np.testing.assert_allclose(per_example_loss("image", images, images * 0.5), [0.25, 0.25])


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_adversarial_training_attacks_the_first_share_of_each_batch(attack):
    from pipeline.attacks import FGSM
    from pipeline.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("linear", (6, 6, 1), 3)
    trainer = {"seed": 0, "adversarial": {"attack": attack, "eps": 0.1, "steps": 3, "ratio": 0.5}}
    steps = Steps(
        tf.distribute.get_strategy(),
        model,
        keras.optimizers.SGD(0.1),
        "label",
        8,
        adversary=adversary(OmegaConf.create(trainer), model),
        adversarial_ratio=0.5,
    )
    x = np.random.default_rng(0).uniform(0.2, 0.8, size=(8, 6, 6, 1)).astype(np.float32)
    y = np.arange(8) % 3
    mixed = tf.function(steps.mix_adversarial)(tf.constant(x), tf.constant(y, tf.int32)).numpy()
    np.testing.assert_array_equal(mixed[4:], x[4:])  # the clean half is untouched
    delta = np.abs(mixed[:4] - x[:4])
    assert delta.max() <= 0.1 + 1e-6 and delta.max() > 0.09
    if attack == "fgsm":
        np.testing.assert_allclose(mixed[:4], FGSM(model, eps=0.1)(x[:4], y[:4]), atol=1e-6)
    steps.train_steps(iter([(x, y)]), tf.constant(1))  # a training step runs with the attack inside
    assert int(steps.optimizer.iterations.numpy()) == 1


def test_adversarial_noise_is_new_each_step_and_the_same_after_a_resume():
    """PGD's random start inside a traced step is seeded by the step number, not frozen at tracing."""
    from pipeline.attacks import PGD
    from pipeline.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("linear", (6, 6, 1), 3)
    optimizer = keras.optimizers.SGD(0.0)
    attack = PGD(model, eps=0.1, step_size=1e-4, steps=1, seed=0)  # tiny steps: the random start shows
    steps = Steps(tf.distribute.get_strategy(), model, optimizer, "label", 4, adversary=attack, adversarial_ratio=1.0)
    mix = tf.function(steps.mix_adversarial)
    x = tf.constant(np.full((4, 6, 6, 1), 0.5, np.float32))
    y = tf.constant([0, 1, 2, 0])
    first = mix(x, y).numpy()
    optimizer.iterations.assign(1)
    second = mix(x, y).numpy()
    assert not np.allclose(first, second)  # a new step, new noise
    optimizer.iterations.assign(0)
    np.testing.assert_array_equal(mix(x, y).numpy(), first)  # step 0 again (a resume): the same noise


def _epoch_with(pace, batches, lr=0.1):
    from pipeline.models import build_model
    from pipeline.training.loop import train_epoch

    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 1), 10, impl="custom")
    steps = Steps(tf.distribute.get_strategy(), model, keras.optimizers.Adam(lr), "label", 16)
    metrics = train_epoch(steps, iter(batches), epoch=0, num_steps=len(batches), train_steps=len(batches), pace=pace)
    return metrics, model.get_weights()


def test_steps_per_call_change_nothing_but_the_host_round_trips():
    """Seven batches one per call, three per call (3 + 3 + 1) and automatic: the same weights
    and epoch metrics to the last bit."""
    from pipeline.training.loop import Pace

    rng = np.random.default_rng(0)
    batches = [(rng.uniform(size=(16, 32, 32, 1)).astype(np.float32), rng.integers(0, 10, 16)) for _ in range(7)]
    reference, weights = _epoch_with(Pace(1), batches)
    for pace in (Pace(3), Pace()):
        metrics, other = _epoch_with(pace, batches)
        for key in ("train_loss", "train_accuracy"):
            assert metrics[key] == reference[key]
        for a, b in zip(weights, other):
            np.testing.assert_array_equal(a, b)


def test_a_non_finite_loss_names_its_batch_inside_a_call():
    from pipeline.training.loop import NonFiniteLossError, Pace, train_epoch

    class Rows:  # per step (loss sum, running metric, examples), as Steps.train_steps returns them
        target = "label"

        def train_steps(self, iterator, count):
            return tf.constant([[next(iterator), 1.0, 1.0] for _ in range(int(count))])

    losses = [1.0, 1.0, 1.0, float("nan"), 1.0]  # the fourth batch, in the second call of 3
    with pytest.raises(NonFiniteLossError, match="epoch 2, batch 4;"):
        train_epoch(Rows(), iter(losses), epoch=1, num_steps=5, train_steps=5, pace=Pace(3))


def test_workers_use_the_agreed_steps_per_call_and_one_process_its_own(mirrored_strategy):
    """Under several workers every call holds the count `agree` returns (on every worker the same,
    `loop.agreement`'s all-reduce), never the one this worker's clock proposed; a fixed count
    asks nobody; one process needs no agreement."""
    from pipeline.training.loop import Pace, agreement
    from pipeline.training.strategies import gathering

    proposals = []
    pace = Pace(agree=lambda proposed: proposals.append(proposed) or 5)
    pace.observe(1, 0.5)  # a slow traced first call: this worker alone would propose 1
    assert proposals == [1] and pace.next(100) == 5 and pace.next(3) == 3
    fixed = Pace(4, agree=lambda proposed: pytest.fail("a fixed count needs no agreement"))
    fixed.observe(4, 0.001)
    assert fixed.next(100) == 4
    assert agreement(gathering(tf.distribute.get_strategy())) is None
    assert agreement(gathering(mirrored_strategy)) is None


@pytest.mark.parametrize("classes", [10, 5])
def test_top5_accuracy_counts_labels_among_the_five_highest_scores(classes):
    """Against NumPy's sort on fixed logits; with 5 classes or fewer every label is in the top 5,
    so the number is left out."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, classes)).astype(np.float32)
    labels = rng.integers(0, classes, 40)
    model = keras.Sequential([keras.Input((classes,)), keras.layers.Identity()])
    steps = Steps(tf.distribute.get_strategy(), model, keras.optimizers.SGD(), "label", 16)
    found = evaluate(steps, tf.data.Dataset.from_tensor_slices((logits, labels)).batch(16))
    assert found["accuracy"] == pytest.approx(np.mean(logits.argmax(axis=1) == labels))
    if classes <= 5:
        assert "top5_accuracy" not in found
    else:
        top5 = np.argsort(-logits, axis=1)[:, :5]
        assert found["top5_accuracy"] == pytest.approx(np.mean((top5 == labels[:, None]).any(axis=1)))
        assert found["top5_accuracy"] > found["accuracy"]


def test_workers_resume_from_the_last_epoch_all_of_them_hold(tmp_path):
    """A worker killed while its peer saved epoch 3 holds epoch 2 only: both go on from epoch 2,
    the peer from the checkpoint it kept before its last; a checkpoint no longer kept is one line."""
    from pipeline.errors import UserError
    from pipeline.training.checkpoints import Checkpoints

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    saved = Checkpoints(tmp_path, model, optimizer)
    for epoch in (1, 2, 3):
        model.layers[0].kernel.assign(np.full((3, 2), epoch, np.float32))
        saved.save(epoch, [{"epoch": e} for e in range(1, epoch + 1)])

    def peer_at(epoch: int):  # gather: this worker's value and its peer's
        return lambda value: [value, float(epoch)]

    assert Checkpoints(tmp_path, model, optimizer, peer_at(3)).restore() == (
        3,
        [{"epoch": 1}, {"epoch": 2}, {"epoch": 3}],
    )
    assert Checkpoints(tmp_path, model, optimizer, peer_at(2)).restore() == (2, [{"epoch": 1}, {"epoch": 2}])
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), np.full((3, 2), 2.0))
    with pytest.raises(UserError, match="last common epoch is 1 and .* no longer holds its checkpoint"):
        Checkpoints(tmp_path, model, optimizer, peer_at(1)).restore()  # two kept: 2 and 3
    assert Checkpoints(tmp_path, model, optimizer, peer_at(0)).restore() == (0, [])  # the peer starts fresh
