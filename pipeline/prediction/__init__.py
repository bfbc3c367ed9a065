"""A model on images of one's own: read a folder of image files or a `.npy` array as the model's
input (each file read and fitted as the photos dataset reads its files, by
`pipeline.data.read_image`), and its top classes with their probabilities.

>>> names, images, unreadable = read_inputs("my_photos/", model.input_shape[1:])
>>> classes, probabilities = top_classes(model, images, k=5)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from pipeline.data import image_files, read_image
from pipeline.errors import ConfigError
from pipeline.inference import probabilities


def read_inputs(path: str | Path, input_shape: Sequence[int]) -> tuple[list[str], np.ndarray, list[tuple[str, str]]]:
    """(names, images (N, *input_shape) float32 in [0, 1], [(name, why)] of the files that could
    not be read) from a folder of images (its sub-folders too, sorted) or a `.npy` file of images
    (N, *input_shape), named `<file>[<i>]`."""
    path = Path(path).expanduser()
    if path.suffix == ".npy" and path.is_file():
        return _array_inputs(path, tuple(input_shape))
    if not path.is_dir():
        raise ConfigError(f"predict.input={path}: not a folder of images nor a .npy file.")
    files = image_files(path)
    if not files:
        raise ConfigError(f"predict.input={path}: no images (.png, .jpg, ...) in it or its sub-folders.")
    names, images, unreadable = [], [], []
    for file in files:
        name = str(file.relative_to(path))
        try:
            images.append(read_image(file, input_shape))
            names.append(name)
        except (OSError, ValueError, SyntaxError) as error:  # PIL's errors for broken or unknown files
            unreadable.append((name, str(error).splitlines()[0] if str(error) else type(error).__name__))
    if not images:
        raise ConfigError(f"predict.input={path}: none of its {len(files)} image files could be read.")
    return names, np.stack(images), unreadable


def _array_inputs(path: Path, shape: tuple) -> tuple[list[str], np.ndarray, list[tuple[str, str]]]:
    try:
        images = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise ConfigError(f"predict.input={path}: not a NumPy array of images ({error}).") from None
    images = images[None] if images.ndim == len(shape) else images
    if images.shape[1:] != shape or not len(images):
        raise ConfigError(f"predict.input={path}: images of shape {images.shape[1:]}, the model reads {shape}.")
    return [f"{path.name}[{i}]" for i in range(len(images))], images.astype(np.float32), []


def top_classes(
    model: keras.Model, images: np.ndarray, k: int = 5, batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """The `k` most probable classes of each image, most probable first, and their softmax
    probabilities: two (N, k) arrays (k at most the number of classes)."""
    scores = probabilities(model, images, batch_size)
    order = np.argsort(-scores, axis=-1, kind="stable")[:, : min(k, scores.shape[-1])]
    return order, np.take_along_axis(scores, order, axis=-1)


__all__ = ["read_inputs", "top_classes"]
