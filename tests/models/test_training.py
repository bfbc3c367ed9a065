"""Every architecture takes a training step; the small ones learn the offline datasets."""

import keras
import numpy as np
import pytest

from pipeline.data import load
from pipeline.models import build_model
from tests.models.helpers import DEEP, SMALL, batch, every_architecture

LOGITS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


BIG = {"resnet18", "resnet20", "resnet34", "resnet50", "vgg13", "vgg16", "vgg19", "hed", "unet"}  # 8-25 s each


@pytest.mark.parametrize("name", every_architecture(BIG))
def test_one_training_step_changes_the_weights(name):
    shape, options = SMALL[name]
    model = build_model(name, shape, 5, **options)
    x = batch(shape, count=4)
    # The deepest ones step eagerly: tracing ResNet-152's step takes 40 s (Keras's layers too),
    # the step itself 4 s; every other architecture steps traced.
    eager = name in DEEP | {"resnet34", "resnet50"}
    if name == "autoencoder":
        model.compile("adam", "mse")
        y = x
    elif name == "siamese":  # one "same class?" logit per pair
        model.compile("adam", keras.losses.BinaryCrossentropy(from_logits=True))
        y = np.array([1, 0, 1, 0], np.float32)
    elif name in ("unet", "hed"):  # per-pixel logits
        model.compile("adam", LOGITS)
        y = np.random.default_rng(0).integers(0, 5, (4, *shape[:2]))
    else:
        model.compile("adam", LOGITS, run_eagerly=eager)
        y = np.arange(4) % 5
    before = [w.numpy().copy() for w in model.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    changed = [not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights)]
    assert sum(changed) >= len(changed) - 1  # every weight moves (a dead ReLU may pin one)


# (architecture, options, dataset, load options (image_size, else the builder's), epochs,
#  minimum test accuracy; chance is 1/classes)
LEARNERS = [
    ("linear", {}, "digits", {}, 6, 0.8),
    ("mlp", {"hidden_units": (128,)}, "digits", {}, 6, 0.8),
    ("pattern", {"preset": "two_stage", "filters": 8, "fc_units": 64}, "digits", {}, 6, 0.8),
    ("lenet5", {}, "digits", {}, 6, 0.8),
    ("resnet20", {}, "digits", {"image_size": [16, 16]}, 3, 0.6),  # 16x16: a quarter of the compute (0.97 measured)
    (
        "allconv",
        {"filters": (16, 32), "input_dropout": 0.0, "dropout": 0.0},
        "bars",
        {"train_size": 1500, "test_size": 300},
        4,
        0.6,
    ),
    ("conv1d", {}, "signals", {"train_size": 1500, "test_size": 300}, 10, 0.7),
]


SLOW_LEARNERS = {"resnet20", "allconv", "pattern", "conv1d"}  # 8-45 s each: with the slow tests


@pytest.mark.parametrize(
    "name, options, dataset, data_options, epochs, accuracy",
    [pytest.param(*case, marks=pytest.mark.slow) if case[0] in SLOW_LEARNERS else case for case in LEARNERS],
    ids=[learner[0] for learner in LEARNERS],
)
def test_learns_an_offline_dataset(name, options, dataset, data_options, epochs, accuracy, tmp_path_factory):
    keras.utils.set_random_seed(0)
    data_dir = str(tmp_path_factory.getbasetemp() / "tfds")
    data_options = dict(data_options)
    kwargs = dict(
        batch_size=32, data_dir=data_dir, image_size=data_options.pop("image_size", None), options=data_options or None
    )
    train, info = load(dataset, "train", **kwargs)
    test, _ = load(dataset, "test", **kwargs)
    model = build_model(name, info.input_shape, info.num_classes, **options)
    model.compile(keras.optimizers.Adam(2e-3), LOGITS, metrics=["accuracy"])
    model.fit(train, epochs=epochs, verbose=0, shuffle=False)  # the dataset shuffles itself
    _, test_accuracy = model.evaluate(test, verbose=0)
    assert test_accuracy >= accuracy, f"{name} on {dataset}: {test_accuracy:.3f} (chance {1 / info.num_classes:.2f})"
