"""The offline TFDS builders: they build, their labels are true, and they are deterministic."""

import numpy as np
import pytest
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from pipeline.data import OFFLINE_BUILDERS, source
from pipeline.data.builders import BarsConfig, SignalsConfig
from tests.data import reference


def as_numpy(dataset: tfds.core.DatasetBuilder, split: str) -> dict[str, np.ndarray]:
    examples = list(tfds.as_numpy(dataset.as_dataset(split=split, shuffle_files=False)))
    return {key: np.stack([e[key] for e in examples]) for key in examples[0]}


@pytest.mark.parametrize("name", sorted(OFFLINE_BUILDERS))
def test_builds_with_every_class_in_both_splits(name, tfds_dir):
    dataset = source.builder(name, data_dir=tfds_dir)
    num_classes = dataset.info.features["label"].num_classes
    for split in ("train", "test"):
        arrays = as_numpy(dataset, split)
        assert len(arrays["label"]) == dataset.info.splits[split].num_examples
        assert set(arrays["label"]) == set(range(num_classes)), split
        assert arrays["image"].shape[1:] == dataset.info.features["image"].shape


def test_digits_is_sklearn_digits_split_stratified(tfds_dir):
    dataset = source.builder("digits", data_dir=tfds_dir)
    train, test = as_numpy(dataset, "train"), as_numpy(dataset, "test")
    sklearn_counts = np.bincount(load_digits().target, minlength=10)
    assert len(train["label"]) + len(test["label"]) == 1797
    np.testing.assert_array_equal(
        np.bincount(train["label"], minlength=10) + np.bincount(test["label"], minlength=10), sklearn_counts
    )
    # Stratified: each class's test share is 20% of that class, to within one example.
    assert np.all(np.abs(np.bincount(test["label"], minlength=10) - 0.2 * sklearn_counts) <= 1)
    assert train["image"].shape[1:] == (32, 32, 1) and train["image"].dtype == np.uint8
    # The digit sits in the 28x28 centre; LeNet-5's 2-pixel border is empty.
    assert train["image"][:, :2].max() == 0 and train["image"][:, -2:].max() == 0


def test_digits_images_are_the_upscaled_sklearn_digits(tfds_dir):
    """Averaging each stored digit back down to 8x8 recovers scikit-learn's image."""
    from skimage.transform import resize

    dataset = source.builder("digits", data_dir=tfds_dir)
    test = as_numpy(dataset, "test")
    originals = load_digits().images / 16.0
    small = resize(test["image"][:, 2:30, 2:30, 0] / 255.0, (len(test["image"]), 8, 8), anti_aliasing=True)
    # Match each stored digit to its nearest original; it must be close and have the same label.
    distances = ((small[:, None] - originals[None]) ** 2).sum(axis=(2, 3))
    nearest = distances.argmin(axis=1)
    np.testing.assert_array_equal(load_digits().target[nearest], test["label"])
    assert np.sqrt(distances.min(axis=1) / 64).max() < 0.2  # RMS, pixel range [0, 1]


def test_bars_labels_are_the_drawn_orientation(tfds_dir):
    config = dict(noise=0.0, jitter=0.0, train_size=200, test_size=50, image_size=32)
    dataset = source.builder("bars", data_dir=tfds_dir, options=config)
    arrays = as_numpy(dataset, "train")
    names = dataset.info.features["label"].names
    assert names == ["0deg", "45deg", "90deg", "135deg"]
    errors = [
        reference.angle_distance_deg(reference.bar_orientation_deg(image), 45.0 * label)
        for image, label in zip(arrays["image"], arrays["label"])
    ]
    assert np.mean(np.array(errors) < 22.5) > 0.97, np.percentile(errors, [50, 90, 99])


def test_bars_are_deterministic_by_seed_and_configurable(tfds_dir):
    options = dict(train_size=64, test_size=16, image_size=24, num_orientations=6)
    first = as_numpy(source.builder("bars", data_dir=tfds_dir, options=options), "train")
    again = BarsConfig.from_options(**options)
    rendered = source.OFFLINE_BUILDERS["bars"](config=again, data_dir=tfds_dir)
    np.testing.assert_array_equal(first["image"], as_numpy(rendered, "train")["image"])
    other = as_numpy(source.builder("bars", data_dir=tfds_dir, options={**options, "seed": 1}), "train")
    assert not np.array_equal(first["image"], other["image"])
    assert first["image"].shape == (64, 24, 24, 1)
    assert set(first["label"]) == set(range(6))


def test_config_names_list_the_overrides():
    assert BarsConfig.from_options().name == "default"
    assert BarsConfig.from_options(noise=0.05).name == "default"  # the default value
    assert BarsConfig.from_options(noise=0.2, image_size=64).name == "image_size64-noise0.2"
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['nose'\].*'noise'"):
        BarsConfig.from_options(nose=0.2)
    with pytest.raises(ValueError, match="`image_size` must be at least 8. Received: image_size=4"):
        BarsConfig.from_options(image_size=4)
    with pytest.raises(ValueError, match="min_cycles"):
        SignalsConfig.from_options(max_cycles=100.0)


def test_shapes_masks_match_images_and_labels(tfds_dir):
    dataset = source.builder("shapes", data_dir=tfds_dir, options=dict(train_size=60, test_size=10, noise=0.0))
    arrays = as_numpy(dataset, "train")
    for image, mask, label in zip(arrays["image"], arrays["mask"][..., 0], arrays["label"]):
        background = image[mask == 0]
        assert np.all(background == background[0])  # one flat background colour without noise
        assert np.all(np.any(image[mask > 0] != background[0], axis=-1))
        assert label == np.argmax(np.bincount(mask.ravel(), minlength=4)[1:])
    assert arrays["mask"].max() == 3 and arrays["mask"].min() == 0


def test_signals_labels_are_the_waveform(tfds_dir):
    dataset = source.builder("signals", data_dir=tfds_dir, options=dict(noise=0.0, train_size=200, test_size=10))
    arrays = as_numpy(dataset, "train")
    assert arrays["image"].shape == (200, 128, 1) and arrays["image"].dtype == np.float32
    assert arrays["image"].min() >= 0.0 and arrays["image"].max() <= 1.0
    read = np.array([reference.waveform_kind(s) for s in arrays["image"]])
    np.testing.assert_array_equal(read, arrays["label"])
