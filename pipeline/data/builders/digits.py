"""`digits`: scikit-learn's bundled 8x8 handwritten digits, at LeNet-5's 32x32 input size."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from pipeline.data.builders._base import OFFLINE_BUILDERS

IMAGE_SIZE = 32
# The 8x8 digits are upscaled to a 28x28 field and centred in 32x32, as LeNet-5 took MNIST.
DIGIT_FIELD = 28
# Fraction of each class held out for the test split (stratified, fixed).
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as uint8 (N, 32, 32, 1) images and their labels."""
    from skimage.transform import resize
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = digits.images / 16.0  # scikit-learn's values are 0..16
    field = resize(small, (len(small), DIGIT_FIELD, DIGIT_FIELD), order=1, anti_aliasing=False)
    border = (IMAGE_SIZE - DIGIT_FIELD) // 2
    images = np.pad(field, ((0, 0), (border, border), (border, border)))
    images = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)[..., None]
    return images, digits.target.astype(np.int64)


def split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    """The fixed stratified train/test partition of the 1,797 digits."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        np.arange(len(labels)), test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED
    )
    return {"train": np.sort(train), "test": np.sort(test)}[split]


@OFFLINE_BUILDERS.register("digits")
class Digits(tfds.core.GeneratorBasedBuilder):
    """scikit-learn's 1,797 handwritten digits (UCI, 8x8, 0-16 grey levels), upscaled to 28x28
    and centred in 32x32; a fixed stratified 80/20 train/test split. No download: the data
    ships with scikit-learn."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(self.__doc__ or "").strip(),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 1)),
                    "label": tfds.features.ClassLabel(names=[str(d) for d in range(10)]),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://archive.ics.uci.edu/dataset/80",
        )

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator]:
        del dl_manager  # the data ships with scikit-learn
        images, labels = digit_images()
        return {
            split: self._generate_examples(images, labels, split_indices(labels, split)) for split in ("train", "test")
        }

    def _generate_examples(self, images, labels, indices) -> Iterator[tuple[int, dict]]:
        for index in indices:
            yield int(index), {"image": images[index], "label": labels[index]}
