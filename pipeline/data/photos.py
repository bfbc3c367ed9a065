"""`photos`: a folder of photographs, `dataset=photos dataset.data_dir=<folder>`; by default
scikit-image's bundled photographs (offline). Each photo is centre-cropped to the input's aspect
ratio and resized (default 224x224x3, ImageNet networks' input).

Layout: images directly in the folder (unlabelled: label -1, no class names), or in one
sub-folder per class (labels from the sorted sub-folder names); optionally under split folders
train/, validation/, test/. A folder without split folders is a test split only: something to
analyse (stages=[visualize,adversarial]), not to train on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from pipeline.data.samples import SKIMAGE_PHOTOS, fit, sample_images
from pipeline.errors import ConfigError

NAME = "photos"
DEFAULT_SHAPE = (224, 224, 3)
SPLITS = ("train", "validation", "test")
SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def read(
    split: str, data_dir: str | None, image_size: int | Sequence[int] | None, max_examples: int | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(images (N, H, W, C) float32 in [0, 1], labels (N,) int32, class names) of one split."""
    shape = _shape(image_size)
    if data_dir is None:
        _only_test(split, "scikit-image's photographs")
        images = np.stack(list(sample_images(shape, SKIMAGE_PHOTOS).values()))
        return images[:max_examples], np.full(len(images), -1, np.int32)[:max_examples], ()
    folder = _split_folder(Path(data_dir).expanduser(), split)
    classes = tuple(sorted(p.name for p in folder.iterdir() if p.is_dir() and _images(p)))
    files = [(f, i) for i, c in enumerate(classes) for f in _images(folder / c)] or [(f, -1) for f in _images(folder)]
    if not files:
        raise ConfigError(f"No images ({', '.join(sorted(SUFFIXES))}) in {folder} or its sub-folders.")
    files = files[:max_examples]
    images = np.stack([read_image(f, shape) for f, _ in files])
    return images, np.array([label for _, label in files], np.int32), classes


def read_folder(folder: str, input_shape: Sequence[int], max_examples: int | None = None) -> np.ndarray:
    """Every image in `folder` and its sub-folders (sorted), fitted to `input_shape`: (N, H, W, C)
    float32 in [0, 1]. For image sets that are not a dataset (an attribute's examples)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder of images.")
    files = image_files(root)[:max_examples]
    if not files:
        raise ConfigError(f"No images ({', '.join(sorted(SUFFIXES))}) in {root} or its sub-folders.")
    return np.stack([read_image(f, input_shape) for f in files])


def image_files(folder: Path) -> list[Path]:
    """The image files (by suffix, any case) in `folder` and its sub-folders, sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _shape(image_size) -> tuple[int, int, int]:
    if image_size is None:
        return DEFAULT_SHAPE
    size = [image_size, image_size] if np.ndim(image_size) == 0 else list(image_size)
    return (*size[:2], size[2] if len(size) > 2 else 3)


def _only_test(split: str, where: str) -> None:
    if split != "test":
        raise ConfigError(
            f"{where} have no {split!r} split: without train/, validation/, test/ folders a photos folder is "
            "for analysis (stages=[visualize,adversarial]), not training."
        )


def _split_folder(root: Path, split: str) -> Path:
    if not root.is_dir():
        raise ConfigError(f"dataset.data_dir={root} is not a folder (the photos dataset reads images from one).")
    present = [s for s in SPLITS if (root / s).is_dir()]
    if not present:
        _only_test(split, f"The photos in {root}")
        return root
    if split not in present:
        raise ConfigError(f"{root} has no {split}/ folder (it has {', '.join(p + '/' for p in present)}).")
    return root / split


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def read_image(path: Path, input_shape: Sequence[int]) -> np.ndarray:
    """An image file as a model reads it: RGB in [0, 1], centre-cropped to the input's aspect
    ratio, resized to it, grey for one channel (float32 of `input_shape`)."""
    return fit(_open(path), input_shape)


def _open(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), np.float32) / 255.0


def dataset(images: np.ndarray, labels: np.ndarray, batch_size: int | None, target: str) -> tf.data.Dataset:
    """The photos as (image, target) pairs, in file order."""
    if target not in ("label", "image"):
        raise ConfigError(f"The photos dataset has no {target}s; target is label or image.")
    ds = tf.data.Dataset.from_tensor_slices((images, images if target == "image" else labels))
    return ds.batch(batch_size) if batch_size else ds
