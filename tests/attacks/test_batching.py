"""Batches and early stops: `batch_size` bounds what the model sees without changing any example's
result, and APGD and Square let an example go once it is fooled (the model then sees fewer rows)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipeline.attacks import APGD, PGD, Square, randomness

ATTACKS = {
    "pgd": lambda m: PGD(m, eps=0.1, steps=5),
    "apgd": lambda m: APGD(m, eps=0.1, steps=10),
    "square": lambda m: Square(m, eps=0.1, queries=60),
}


class Watching(keras.Model):
    """The model, recording the largest batch it was given and how many rows it saw in all."""

    def __init__(self, model):
        super().__init__()
        self.inner = model
        self.largest, self.rows = tf.Variable(0, trainable=False), tf.Variable(0, trainable=False)

    def call(self, x, training=False):
        self.largest.assign(tf.maximum(self.largest, tf.shape(x)[0]))
        self.rows.assign_add(tf.shape(x)[0])
        return self.inner(x, training=training)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_batch_size_bounds_the_model_batch_and_changes_no_result(trained, name):
    model, x, y = trained
    keys = randomness.content_keys(0, x)
    whole = np.asarray(ATTACKS[name](model)(x, y, keys=keys))
    watching = Watching(model)
    attack = ATTACKS[name](watching)
    attack.batch_size = 16
    batched = np.asarray(attack(x, y, keys=keys))
    assert 0 < int(watching.largest.numpy()) <= 16
    # The logits of one example move in their last bits with the batch it is in (oneDNN picks its
    # kernels by shape): at most one example of 96 may take the other side of a near tie.
    differ = ~np.isclose(batched, whole, atol=1e-5).reshape(len(x), -1).all(axis=1)
    assert differ.sum() <= 1, np.flatnonzero(differ)


@pytest.mark.parametrize("name", ["apgd", "square"])
def test_fooled_examples_leave_the_batch(trained, name):
    """At an MNIST-like budget many examples fall in the first steps: the model then sees far fewer
    rows than every example attacked for the whole run (what it saw before they left)."""
    model, x, y = trained
    watching = Watching(model)
    attack = {
        "apgd": APGD(watching, eps=0.3, steps=40, seed=0),
        "square": Square(watching, eps=0.3, queries=300, seed=0),
    }
    attack[name](x, y)
    every_step = len(x) * (40 if name == "apgd" else 300)
    assert int(watching.rows.numpy()) < 0.8 * every_step


def test_a_bad_batch_size_is_refused(trained):
    with pytest.raises(ValueError, match="batch_size"):
        PGD(trained[0], batch_size=0)


def test_a_span_of_counters_draws_what_each_counter_draws_alone():
    keys = randomness.batch_keys(tf.constant([1, 2], tf.int64), 5)
    counters = tf.range(3, 7)
    together = np.asarray(randomness.uniform(keys[None], [4], counters[:, None]))
    assert together.shape == (4, 5, 4)
    for row, counter in enumerate(range(3, 7)):
        np.testing.assert_array_equal(together[row], np.asarray(randomness.uniform(keys, [4], counter)))
