"""Test set-up: quiet TensorFlow, two logical CPUs for tf.distribute tests, a fresh Keras state."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import pytest
import tensorflow as tf

CONF = Path(__file__).resolve().parents[1] / "conf"  # the app's config groups

# MirroredStrategy over two logical CPU devices is a cheap test of the distributed path;
# logical devices must be configured before TensorFlow initialises its runtime.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends in float32, whatever it switched to."""
    keras.mixed_precision.set_dtype_policy("float32")
    yield
    keras.mixed_precision.set_dtype_policy("float32")


@pytest.fixture(scope="session")
def mirrored_strategy() -> tf.distribute.MirroredStrategy:
    """MirroredStrategy over this process's two logical CPUs, one per process: collective ops of
    several strategies in one process collide."""
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory) -> str:
    """One TFDS data_dir per test session (per xdist worker): offline datasets build once."""
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture
def cli(tmp_path, tfds_dir):
    """`cli(*overrides)`: `python -m pipeline *overrides` in tmp_path (`tests.cli.run_cli`)."""
    from tests.cli import run_cli

    return lambda *overrides, **kwargs: run_cli(tmp_path, tfds_dir, *overrides, **kwargs)


@pytest.fixture(scope="session", params=["custom", "keras"])
def digits_lenet(request, tfds_dir):
    """LeNet-5 (our layers or Keras's) after 4 epochs on the offline digits; 96 test examples and
    the training data's mean pixel. Shared by the visualization and attack tests."""
    from types import SimpleNamespace

    import numpy as np

    from pipeline.data import load
    from pipeline.models import build_model

    train, _ = load("digits", "train", batch_size=64, data_dir=tfds_dir)
    test, _ = load("digits", "test", batch_size=96, data_dir=tfds_dir)
    keras.utils.set_random_seed(0)
    model = build_model("lenet5", (32, 32, 1), 10, impl=request.param)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train, epochs=4, verbose=0, shuffle=False)
    x, y = next(iter(test))
    mean_pixel = float(np.mean([float(tf.reduce_mean(images)) for images, _ in train]))
    return SimpleNamespace(model=model, x=x.numpy(), y=y.numpy(), mean_pixel=mean_pixel)


@pytest.fixture
def composed():
    """`composed(*overrides, return_hydra_config=False)`: the app's config as Hydra composes it
    from `conf/` against the schema (as `python -m pipeline` does), before any check runs."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import pipeline.__main__  # noqa: F401 - puts the schema in Hydra's ConfigStore

    def make(*overrides: str, return_hydra_config: bool = False):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=list(overrides), return_hydra_config=return_hydra_config)

    yield make
    GlobalHydra.instance().clear()
