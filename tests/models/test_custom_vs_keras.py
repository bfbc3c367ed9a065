"""`impl="custom"` and `impl="keras"` build the same network: same weights, same logits, same gradients."""

import numpy as np
import pytest
import tensorflow as tf

from pipeline.models import build_model
from tests.models.helpers import SMALL, batch, every_architecture


def twins(name: str, **extra):
    shape, options = SMALL[name]
    options = {**options, **extra}
    custom = build_model(name, shape, 5, impl="custom", **options)
    reference = build_model(name, shape, 5, impl="keras", **options)
    assert custom.count_params() == reference.count_params()
    assert [w.shape for w in custom.weights] == [w.shape for w in reference.weights]
    reference.set_weights(custom.get_weights())
    return custom, reference, shape


@pytest.mark.parametrize("name", every_architecture())
def test_same_logits_after_copying_weights(name):
    custom, reference, shape = twins(name)
    x = batch(shape, count=3)
    np.testing.assert_allclose(custom(x, training=False), reference(x, training=False), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "name, extra",
    [
        ("lenet5", {}),
        ("pattern", {"activation": "maxout", "pooling": "l2"}),
        ("pattern", {"activation": "elu", "pooling": "average", "kernel_size": 5}),
        ("resnet20", {}),
        ("conv1d", {}),
        ("autoencoder", {}),
        ("unet", {}),
    ],
    ids=["lenet5", "pattern-maxout-l2", "pattern-elu-average", "resnet20", "conv1d", "autoencoder", "unet"],
)
def test_same_gradients(name, extra):
    """Every weight gradient of our hand-written backward passes equals Keras autodiff's."""
    custom, reference, shape = twins(name, **extra)
    x = batch(shape, count=4, seed=1)
    gradients = []
    for model in (custom, reference):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(model(x, training=True)))
        gradients.append(tape.gradient(loss, model.trainable_weights))
    for weight, ours, theirs in zip(custom.trainable_weights, *gradients):
        scale = float(tf.reduce_max(tf.abs(theirs))) + 1e-6
        np.testing.assert_allclose(ours / scale, theirs / scale, atol=1e-4, err_msg=weight.path)
