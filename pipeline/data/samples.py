"""Sample photographs for the visualization stage: scikit-image's bundled images, as model inputs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.errors import ConfigError

# Photographs bundled with scikit-image (no download), by the name `skimage.data` gives them;
# the visualization stage shows the first three, the `photos` dataset defaults to all of them.
SKIMAGE_PHOTOS = ("chelsea", "astronaut", "coffee", "rocket")
SAMPLE_IMAGES = SKIMAGE_PHOTOS[:3]


def sample_images(
    input_shape: Sequence[int] = (224, 224, 3), names: Sequence[str] = SAMPLE_IMAGES
) -> dict[str, np.ndarray]:
    """The named photographs, centre-cropped to the input's aspect ratio and resized to it.

    Args:
        input_shape: (height, width, channels) of the model input; 1 channel converts to grey.
        names: photographs from `SAMPLE_IMAGES`.

    Returns:
        name -> float32 array of `input_shape`, values in [0, 1].
    """
    import skimage.data

    channels = input_shape[-1]
    unknown = [name for name in names if name not in SKIMAGE_PHOTOS]
    if unknown:
        raise ConfigError(f"Unknown sample image(s) {unknown}. Known: {SKIMAGE_PHOTOS}.")
    if channels not in (1, 3):
        raise ConfigError(f"Sample images have 1 or 3 channels. Received: input_shape={tuple(input_shape)}")
    photos = {}
    for name in names:
        photos[name] = fit(getattr(skimage.data, name)() / 255.0, input_shape)
    return photos


def fit(photo: np.ndarray, input_shape: Sequence[int]) -> np.ndarray:
    """An RGB photo in [0, 1], centre-cropped to the input's aspect ratio and resized to it,
    grey when the input has one channel: float32 of `input_shape`."""
    from skimage.color import rgb2gray
    from skimage.transform import resize

    height, width, channels = input_shape
    photo = resize(_centre_crop(photo, height / width), (height, width), anti_aliasing=True)
    photo = rgb2gray(photo)[..., None] if channels == 1 else photo
    return np.clip(photo, 0.0, 1.0).astype(np.float32)


def _centre_crop(photo: np.ndarray, aspect: float) -> np.ndarray:
    """The largest centred crop with height / width == aspect."""
    rows, cols = photo.shape[:2]
    if rows / cols > aspect:
        keep = round(cols * aspect)
        top = (rows - keep) // 2
        return photo[top : top + keep]
    keep = round(rows / aspect)
    left = (cols - keep) // 2
    return photo[:, left : left + keep]
