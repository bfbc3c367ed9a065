"""Small inputs at which every architecture builds fast, a weight-copying comparison, and weights
written in Keras Applications' download layout."""

import h5py
import keras
import numpy as np
import pytest

from pipeline.models import ARCHITECTURES

# name -> (input shape, options) small enough for a quick forward and training step
SMALL = {
    "linear": ((32, 32, 1), {}),
    "mlp": ((32, 32, 1), {"hidden_units": (64, 32)}),
    "pattern": ((32, 32, 1), {"filters": 8, "fc_units": 32}),
    "lenet5": ((32, 32, 1), {}),
    "alexnet": ((63, 63, 3), {"fc_units": 64}),
    "vgg11": ((32, 32, 3), {"fc_units": 64}),
    "vgg13": ((32, 32, 3), {"fc_units": 64}),
    "vgg16": ((32, 32, 3), {"fc_units": 64}),
    "vgg19": ((32, 32, 3), {"fc_units": 64}),
    "resnet18": ((32, 32, 3), {}),
    "resnet34": ((32, 32, 3), {}),
    "resnet50": ((32, 32, 3), {}),
    "resnet101": ((32, 32, 3), {}),
    "resnet152": ((32, 32, 3), {}),
    "resnet20": ((32, 32, 3), {}),
    "googlenet": ((32, 32, 3), {}),
    "allconv": ((32, 32, 3), {"filters": (16, 32)}),
    "conv1d": ((128, 1), {}),
    "autoencoder": ((32, 32, 1), {"code_size": 8}),
    "unet": ((32, 32, 3), {"filters": 8}),
    "hed": ((32, 32, 3), {}),
    "siamese": ((2, 32, 32, 1), {"embedding": 8}),
}


DEEP = {"resnet101", "resnet152", "googlenet"}  # 60-150 weighted layers: 10-35 s a test, with the slow tests


def every_architecture(slow: set[str] = frozenset()) -> list:
    """ARCHITECTURES as pytest parameters, DEEP and `slow` ones marked slow."""
    return [pytest.param(n, marks=pytest.mark.slow) if n in DEEP | slow else n for n in ARCHITECTURES]


def batch(shape, count: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, *shape)).astype("float32")


def trainable_count(model: keras.layers.Layer) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def alone(layer, input_shape) -> keras.Model:
    """`layer` built on one input of `input_shape`, as a model."""
    return keras.Sequential([keras.Input(input_shape), layer])


def write_legacy(model: keras.Model, path) -> None:
    """Keras Applications' download layout (Keras 3 writes only .weights.h5): one group per layer
    name, listing its `weight_names`, each a dataset inside the group."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.path.split('/')[-1]}:0" for w in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, weight in zip(names, layer.weights):
                group.create_dataset(name, data=np.asarray(weight))
