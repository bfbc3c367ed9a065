"""Real TFDS datasets with no network: the code path on mocked data, and the missing-data error."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from pipeline.data import DatasetNotPreparedError, load, sample_images, source

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name, shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_real_dataset_code_path_on_mock_data(name, shape, tmp_path, monkeypatch):
    # mock_data fakes the download and the records; the reachability probe is ours to fake.
    monkeypatch.setattr(source, "network_available", lambda: True)
    with tfds.testing.mock_data(num_examples=40):
        ds, info = load(name, "train", batch_size=16, data_dir=str(tmp_path), augment=True)
        x, y = next(iter(ds))
        resized, resized_info = load(name, "test", image_size=(32, 32, 3), batch_size=8, data_dir=str(tmp_path))
        rx, _ = next(iter(resized))
    assert (info.input_shape, info.num_classes, info.num_examples) == (shape, 10, 40)
    assert x.shape == (16, *shape) and x.dtype == "float32"
    assert float(np.min(x)) >= 0.0 and float(np.max(x)) <= 1.0 and float(np.max(x)) > 0.5
    assert np.all((y.numpy() >= 0) & (y.numpy() < 10))
    assert rx.shape == (8, 32, 32, 3) and resized_info.input_shape == (32, 32, 3)


def test_missing_real_dataset_offline_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "network_available", lambda: False)
    with pytest.raises(DatasetNotPreparedError) as raised:
        load("cifar10", "train", data_dir=str(tmp_path))
    message = str(raised.value)
    for part in ("'cifar10' is not prepared", str(tmp_path), "cannot reach", "tfds build cifar10", "copy"):
        assert part in message
    assert not (tmp_path / "cifar10").exists() or not any((tmp_path / "cifar10").rglob("*.tfrecord*"))


def test_no_download_never_probes_the_network(tmp_path, monkeypatch):
    def probe():
        raise AssertionError("probed the network with download=False")

    monkeypatch.setattr(source, "network_available", probe)
    with pytest.raises(DatasetNotPreparedError, match="download=False"):
        load("mnist", "test", data_dir=str(tmp_path), download=False)


def test_prepare_script_exits_non_zero_with_the_message(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "scripts/prepare_data.py", "svhn_cropped", "--data-dir", str(tmp_path), "--no-download"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "'svhn_cropped' is not prepared" in done.stderr and "tfds build svhn_cropped" in done.stderr


def test_prepare_script_builds_an_offline_dataset(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [
        sys.executable,
        "scripts/prepare_data.py",
        "signals",
        "--data-dir",
        str(tmp_path),
        "--option",
        "train_size=50",
    ]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "signals ready" in done.stderr and "train: 50" in done.stderr


def test_sample_images_are_the_bundled_photos():
    import skimage.data

    photos = sample_images((512, 512, 3), names=("astronaut",))
    np.testing.assert_allclose(photos["astronaut"], skimage.data.astronaut() / 255.0, atol=1e-6)
    small = sample_images((32, 48, 1))
    assert list(small) == ["chelsea", "astronaut", "coffee"]
    for photo in small.values():
        assert photo.shape == (32, 48, 1) and photo.dtype == np.float32
        assert photo.min() >= 0.0 and photo.max() <= 1.0 and photo.std() > 0.05
    with pytest.raises(ValueError, match="Unknown sample image"):
        sample_images(names=("dog",))
