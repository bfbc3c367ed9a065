"""Auxiliary classifiers (GoogLeNet's): their losses join the first output's with weight 0.3 in
training, and only the first output is reported, evaluated and saved."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline.training import Steps, evaluate
from pipeline.training.loop import AUXILIARY_WEIGHT, train_epoch, training_loss
from tests.cli import all_runs


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


def test_the_training_loss_adds_each_auxiliary_loss_times_0_3():
    rng = np.random.default_rng(0)
    outputs = [rng.normal(size=(6, 4)).astype(np.float32) for _ in range(3)]
    labels = rng.integers(0, 4, 6)
    total, reported = training_loss("label", labels, tf.constant(outputs[0]), [tf.constant(o) for o in outputs[1:]])
    main, *auxiliary = (cross_entropy(o, labels) for o in outputs)
    assert AUXILIARY_WEIGHT == 0.3  # Szegedy et al. 2015, section 5
    np.testing.assert_allclose(reported, main, rtol=1e-5)
    np.testing.assert_allclose(float(total), main.sum() + 0.3 * sum(a.sum() for a in auxiliary), rtol=1e-5)


def two_headed(classes: int = 3) -> keras.Model:
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(8, activation="relu", name="shared")(inputs)
    return keras.Model(
        inputs, [keras.layers.Dense(classes, name="main")(hidden), keras.layers.Dense(classes, name="aux")(hidden)]
    )


def test_a_step_trains_the_auxiliary_head_and_evaluation_reads_the_first_output_only():
    from pipeline.training.loop import Pace

    keras.utils.set_random_seed(0)
    model = two_headed()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5)).astype(np.float32), rng.integers(0, 3, 16)
    steps = Steps(tf.distribute.get_strategy(), model, keras.optimizers.SGD(0.1), "label", 16)
    main, aux = (keras.ops.convert_to_numpy(o) for o in model(x))
    before = model.get_layer("aux").get_weights()[0].copy()
    metrics = train_epoch(steps, iter([(x, y)]), epoch=0, num_steps=1, train_steps=1, pace=Pace(1))
    assert metrics["train_loss"] == pytest.approx(cross_entropy(main, y).mean(), rel=1e-5)  # the first output's
    assert metrics["train_accuracy"] == pytest.approx(np.mean(main.argmax(axis=1) == y))
    assert not np.allclose(model.get_layer("aux").get_weights()[0], before)  # the auxiliary loss reached its head
    main, aux = (keras.ops.convert_to_numpy(o) for o in model(x))
    found = evaluate(steps, tf.data.Dataset.from_tensor_slices((x, y)).batch(8))
    assert found["loss"] == pytest.approx(cross_entropy(main, y).mean(), rel=1e-5)
    assert found["accuracy"] == pytest.approx(np.mean(main.argmax(axis=1) == y))


@pytest.mark.slow
def test_googlenet_trains_with_its_auxiliary_heads_and_saves_the_model_without_them(cli, tmp_path):
    from pipeline.models import build_model

    done = cli("model=googlenet", "+model.options.aux_heads=true", "debug=tiny", "stages=[train]", timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]
    [run] = all_runs(tmp_path)
    saved = keras.models.load_model(next(tmp_path.rglob("model.keras")), compile=False)
    alone = build_model("googlenet", (32, 32, 1), 10)
    assert len(saved.outputs) == 1 and saved.count_params() == alone.count_params()
    assert run.data.metrics["parameters"] == alone.count_params()
    assert run.data.params["model.options.aux_heads"] == "True"
