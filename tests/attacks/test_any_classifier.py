"""AutoAttack on any Keras classifier: subclassed, nested, softmax-ended and probability-output
models, integer and one-hot labels, and graphs traced once per model and settings whatever the
number of attack objects. The reference for each kind is the same network as a plain Functional
model of logits: same weights, same examples, same keys, so the same images must come out."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline.attacks import APGD, AutoAttack, Square
from pipeline.attacks.base import class_indices
from pipeline.attacks.sanity import probabilities, square_gain, zero_gradients
from pipeline.inference import model_cache
from pipeline.logits import looks_like_probabilities, pre_softmax

EPS = 0.1
SMALL = {"apgd-ce": {"steps": 8}, "apgd-t": {"steps": 8, "target_classes": 2}, "square": {"queries": 40}}
N = 24


class Wrapped(keras.Model):
    """A subclassed model around another; `softmax=True` returns probabilities."""

    def __init__(self, inner: keras.Model, softmax: bool = False):
        super().__init__()
        self.inner, self.softmax = inner, softmax

    def call(self, x, training=False):
        logits = self.inner(x, training=training)
        return tf.nn.softmax(logits) if self.softmax else logits


def evaluate(model, x, y):
    return AutoAttack(model, EPS, version="fast", settings=SMALL, batch_size=16).evaluate(x, y)


@pytest.fixture(scope="module")
def reference(trained):
    model, x, y = trained
    return evaluate(model, x[:N], y[:N])


def softmax_ended(model: keras.Model) -> keras.Model:
    inputs = keras.Input(model.input_shape[1:])
    return keras.Model(inputs, keras.layers.Softmax()(model(inputs)))


def test_a_subclassed_model_is_attacked_as_its_functional_twin(trained, reference):
    model, x, y = trained
    wrapped = Wrapped(model)
    wrapped(x[:1])
    result = evaluate(wrapped, x[:N], y[:N])
    np.testing.assert_array_equal(result.robust, reference.robust)
    np.testing.assert_allclose(result.x_adv, reference.x_adv, atol=1e-6)


def test_one_hot_labels_give_the_same_result_and_bad_labels_say_what_fits(trained, reference):
    model, x, y = trained
    result = evaluate(model, x[:N], np.eye(10, dtype=np.float32)[y[:N]])
    np.testing.assert_array_equal(result.robust, reference.robust)
    with pytest.raises(ValueError, match=r"one-hot labels have 7 columns but the model outputs 10 classes"):
        evaluate(model, x[:N], np.eye(7)[y[:N] % 7])
    with pytest.raises(ValueError, match=r"class indices, shape \(N,\), or one-hot rows.*got shape \(24, 1, 1\)"):
        evaluate(model, x[:N], y[:N, None, None])
    np.testing.assert_array_equal(class_indices(y[:N, None]), y[:N])


def test_a_softmax_ended_model_is_attacked_on_its_logits(trained, reference, caplog):
    model, x, y = trained
    with caplog.at_level(logging.INFO, logger="pipeline.attacks.autoattack"):
        attack = AutoAttack(softmax_ended(model), EPS, version="fast", settings=SMALL, batch_size=16)
    assert attack.took_logits and "pre-softmax logits are attacked" in caplog.text
    result = attack.evaluate(x[:N], y[:N])
    np.testing.assert_array_equal(result.robust, reference.robust)
    assert not attack.outputs_probabilities and probabilities(attack, 0.0).passed


@pytest.mark.parametrize(
    "build",
    [
        lambda: keras.Sequential(
            [
                keras.Input((6, 6, 2)),
                keras.layers.Conv2D(3, 3),
                keras.layers.Flatten(),
                keras.layers.Dense(5, "softmax"),
            ]
        ),
        lambda: keras.Sequential(
            [keras.Input((6, 6, 2)), keras.layers.Flatten(), keras.layers.Dense(5), keras.layers.Activation("softmax")]
        ),
        lambda: softmax_ended(
            keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Flatten(), keras.layers.Dense(5)])
        ),
        lambda: (lambda inner: keras.Model(inner.inputs, inner(inner.inputs)))(
            keras.Sequential(
                [keras.Input((6, 6, 2)), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")]
            )
        ),
    ],
    ids=["dense-softmax", "activation-layer", "softmax-layer", "nested"],
)
def test_pre_softmax_gives_the_scores_the_softmax_was_applied_to(build):
    model = build()
    x = np.random.default_rng(0).uniform(size=(4, 6, 6, 2)).astype(np.float32)
    logits = pre_softmax(model)
    assert logits is not None and looks_like_probabilities(np.asarray(model(x)))
    scores = np.asarray(logits(x))
    assert not looks_like_probabilities(scores)
    np.testing.assert_allclose(np.asarray(tf.nn.softmax(scores)), np.asarray(model(x)), atol=1e-6)


def test_models_without_a_visible_softmax_are_left_alone(trained):
    model, x, _ = trained
    assert pre_softmax(model) is None
    assert pre_softmax(Wrapped(model, softmax=True)) is None
    assert not looks_like_probabilities(np.asarray(model(x[:8])))


def test_probability_outputs_are_attacked_with_a_warning_and_fail_the_check(trained, caplog):
    model, x, y = trained
    hidden = Wrapped(model, softmax=True)
    hidden(x[:1])
    attack = AutoAttack(hidden, EPS, version="fast", settings=SMALL, batch_size=16)
    with caplog.at_level(logging.WARNING, logger="pipeline.attacks.autoattack"):
        attack.evaluate(x[:8], y[:8])
    assert "outputs probabilities" in caplog.text and "overstate robustness" in caplog.text
    assert attack.outputs_probabilities and not probabilities(attack, 0.0).passed


def test_zero_gradients_and_square_gain_as_autoattack_flags_them(trained, reference):
    model, x, y = trained
    flat = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Lambda(tf.stop_gradient), model])
    assert zero_gradients(model, x[:8], y[:8], 0.0).value == 0.0
    assert zero_gradients(flat, x[:8], y[:8], 0.0).value == 1.0
    gain = square_gain(reference, 0.002)
    assert gain.value == reference.broken_by["square"] / N


def test_every_member_has_its_seconds_even_with_nothing_left(trained):
    model, x, y = trained
    wrong = (np.argmax(np.asarray(model(x[:N])), axis=1) + 1) % 10  # every example already misclassified
    result = evaluate(model, x[:N], wrong)
    assert set(result.seconds) == set(result.broken_by) == {"apgd-ce", "apgd-t", "square"}
    assert result.broken_by == {"apgd-ce": 0, "apgd-t": 0, "square": 0}


def traces(model: keras.Model) -> int:
    graphs = [f for key, f in model_cache(model).items() if isinstance(key, tuple) and key[0] == "attack"]
    return sum(f.experimental_get_tracing_count() for f in graphs)


def test_a_new_autoattack_reuses_the_graphs_of_the_last(trained):
    model, x, y = trained
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    evaluate(twin, x[:N], y[:N])
    evaluate(twin, x[N : N + 10], y[N : N + 10])  # a second batch size: the relaxed trace
    before = traces(twin)
    assert before > 0
    evaluate(twin, x[40:53], y[40:53])  # a new AutoAttack object, a new batch size
    assert traces(twin) == before


def test_graphs_are_shared_by_settings_and_never_by_mistake(trained):
    model, _, _ = trained
    assert APGD(model, 0.1, steps=10).compiled() is APGD(model, 0.3, steps=10).compiled()  # the budget is an input
    assert APGD(model, 0.1, steps=10).compiled() is not APGD(model, 0.1, steps=20).compiled()
    assert APGD(model, 0.1, loss="dlr").compiled() is not APGD(model, 0.1, loss="ce").compiled()
    assert Square(model, 0.1, rescale=False).compiled() is not Square(model, 0.1).compiled()
    assert APGD(model, 0.1).compiled("start") is not APGD(model, 0.1).compiled()
