"""A LeNet-5 trained briefly on the offline digits (ours and Keras's), and test examples."""

import keras
import numpy as np
import pytest

from pipeline.data import load
from pipeline.models import build_model


@pytest.fixture(scope="session")
def digits(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("tfds"))
    train, _ = load("digits", "train", batch_size=64, data_dir=data_dir)
    test, _ = load("digits", "test", batch_size=96, data_dir=data_dir)
    x, y = next(iter(test))
    return train, x.numpy(), y.numpy()


@pytest.fixture(scope="session", params=["custom", "keras"])
def trained(request, digits):
    """(model, x, y): LeNet-5 after 4 epochs, 96 test examples."""
    train, x, y = digits
    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 1), 10, impl=request.param)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train, epochs=4, verbose=0, shuffle=False)
    return model, x, y


def predictions(model, x) -> np.ndarray:
    return np.argmax(np.asarray(model(x, training=False), np.float32), axis=-1)
