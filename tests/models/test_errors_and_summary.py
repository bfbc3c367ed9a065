"""Clear errors for bad names, options and inputs; summaries whose layer names say what they are."""

import re

import keras
import numpy as np
import pytest

from pipeline.models import ARCHITECTURES, IMPLS, build_model
from tests.models.helpers import SMALL, batch, every_architecture


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown architecture 'resnet200'; known: linear, mlp, .*resnet152"):
        build_model("resnet200", (32, 32, 3), 10)


@pytest.mark.parametrize(
    "name, options, message",
    [
        (
            "lenet5",
            {"filters": 8},
            r"Unknown option\(s\) \['filters'\] for 'lenet5'. Its options: \['activation', 'width'\]",
        ),
        ("vgg16", {"depth": 11}, r"Unknown option\(s\) \['depth'\] for 'vgg16'"),
        ("pattern", {"pooling": "median"}, "Invalid value for option `pooling`. .* Received: pooling='median'"),
        ("pattern", {"activation": "swish"}, "Received: activation='swish'"),
        ("pattern", {"stages": -1}, "Received: stages=-1"),
        ("pattern", {"preset": "resnet"}, "Received: preset='resnet'"),
        ("pattern", {"filters": (8, 16, 32)}, "one width per stage"),
        ("pattern", {"filtres": 8}, r"Unknown option\(s\) \['filtres'\] for 'pattern'"),
    ],
)
def test_bad_options_are_named(name, options, message):
    with pytest.raises(ValueError, match=message):
        build_model(name, SMALL[name][0], 10, **options)


def test_bad_implementation_and_input_rank():
    with pytest.raises(ValueError, match="unknown layers.impl 'torch'; known: custom, keras"):
        build_model("lenet5", (32, 32, 1), 10, impl="torch")
    with pytest.raises(ValueError, match="conv1d takes inputs of shape \\(length, channels\\)"):
        build_model("conv1d", (32, 32, 1), 4)
    with pytest.raises(ValueError, match="multiples of 8"):
        build_model("unet", (36, 36, 3), 4)


# name -> the smallest side the architecture's downsampling allows
MINIMUM = {
    "lenet5": 32,
    "alexnet": 63,
    "vgg16": 32,
    "allconv": 9,
    "conv1d": 26,
    "resnet50": 32,
    "resnet20": 4,
    "unet": 8,
    "autoencoder": 4,
}


@pytest.mark.parametrize("name", list(MINIMUM))
def test_too_small_inputs_name_the_minimum(name):
    smallest = MINIMUM[name]
    shape = (smallest,) * (len(SMALL[name][0]) - 1) + SMALL[name][0][-1:]
    options = SMALL[name][1]
    build_model(name, shape, 3, **options)(batch(shape, count=1))  # the minimum itself works
    too_small = (smallest - 1,) + shape[1:]
    with pytest.raises(ValueError, match=f"minimum input size {smallest}"):
        build_model(name, too_small, 3, **options)


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg16", "allconv", "conv1d"])
def test_the_minimum_is_tight(name):
    """Without the check, one pixel less breaks the network's own shape arithmetic."""
    smallest, (shape, options) = MINIMUM[name], SMALL[name]
    too_small = (smallest - 1,) + shape[1:]
    layers = ARCHITECTURES[name].build(3, IMPLS["keras"], **options)
    with pytest.raises(ValueError):
        keras.Sequential([keras.Input(too_small), *layers])


# Names Keras makes up when a layer gets none: the class name in snake case, maybe numbered.
AUTO_NAME = re.compile(
    r"^(conv\d?d|dense|re_lu|max_pooling\d?d|average_pooling\d?d|dropout|flatten_\d+|activation|batch_normalization|add|concatenate)(_\d+)?$"
)


@pytest.mark.parametrize("name", every_architecture())
def test_layer_names_say_what_they_are(name):
    shape, options = SMALL[name]
    model = build_model(name, shape, 3, **options)
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    assert not [n for n in names if AUTO_NAME.match(n)]
    for layer in model.layers:
        kind = type(layer).__name__
        if kind.startswith("Conv") and "Transpose" not in kind:
            # dsn (deeply supervised net) and fuse: HED's own names for its side outputs and fusion
            assert re.search(r"conv|proj|scores|logits|dsn|fuse", layer.name), layer.name
        if kind == "Dense":
            assert re.match(r"fc\d|logits|code|decode", layer.name), layer.name
    summary = []
    model.summary(print_fn=summary.append)
    assert f"{name}_custom" in "".join(summary)


@pytest.mark.parametrize("name", ["lenet5", "resnet20", "autoencoder", "unet"])
@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_save_and_load_keeps_the_outputs(name, impl, tmp_path):
    shape, options = SMALL[name]
    model = build_model(name, shape, 3, impl=impl, **options)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = batch(shape)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)
