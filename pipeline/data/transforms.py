"""Per-example transforms of the input pipeline: value range, size and channels, augmentation.

Examples travel as dicts: `image` (float32 in [0, 1]), `label` (int32) and, for segmentation,
`mask` (int32, one class per pixel), so a spatial augmentation moves image and mask together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import tensorflow as tf

from pipeline.errors import ConfigError

# Datasets where a mirror image changes or invents the class (digits, letters, orientations).
NO_FLIP = frozenset({"mnist", "emnist", "kmnist", "svhn_cropped", "omniglot", "bars", "digits"})
# Datasets whose images fill their frame (8x8 digits): a crop would cut the digit, so they are
# augmented by small rotations, scalings and shifts (`jitter`) instead of crops.
JITTERED = frozenset({"digits"})
JITTER = {"degrees": 10.0, "scale": 0.1, "shift": 1 / 16}  # at most; shift as a share of the side


def image_shape(image_size: int | Sequence[int] | None, source_shape: Sequence[int | None]) -> tuple:
    """The (height, width, channels) images come out at, from the `image_size` argument.

    `image_size` is None (keep), an int (square), (height, width) or (height, width, channels).
    """
    if image_size is None:
        return tuple(source_shape)
    if len(source_shape) != 3:
        raise ConfigError(
            f"`image_size` applies to images; this dataset holds {len(source_shape) - 1}D signals "
            f"of shape {tuple(source_shape)}. Received: image_size={image_size}"
        )
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) == 2:
        size = (*size, source_shape[-1])
    if len(size) != 3 or any(not isinstance(s, int) or s < 1 for s in size) or size[2] not in (1, 3):
        raise ConfigError(
            "Invalid value for argument `image_size`. Expected an int, (height, width) or "
            f"(height, width, channels) with 1 or 3 channels. Received: image_size={image_size}"
        )
    return size


def to_float(image: tf.Tensor) -> tf.Tensor:
    """uint8 pixels to float32 in [0, 1]; float features are already in range."""
    if image.dtype == tf.uint8:
        return tf.cast(image, tf.float32) / 255.0
    return tf.cast(image, tf.float32)


def resize(example: dict, shape: Sequence[int]) -> dict:
    """Resize image (bilinear, anti-aliased) and mask (nearest) and adapt the channel count."""
    height, width, channels = shape
    out = dict(example)
    image = example["image"]
    if tuple(image.shape[:2]) != (height, width):
        image = tf.image.resize(image, (height, width), antialias=True)
        image = tf.clip_by_value(image, 0.0, 1.0)
    if image.shape[-1] == 1 and channels == 3:
        image = tf.image.grayscale_to_rgb(image)
    elif image.shape[-1] == 3 and channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    out["image"] = image
    if "mask" in example and tuple(example["mask"].shape[:2]) != (height, width):
        mask = tf.image.resize(example["mask"][..., None], (height, width), method="nearest")
        out["mask"] = mask[..., 0]
    return out


def augment(batch: dict, seed: tf.Tensor, *, flip: bool) -> dict:
    """Random crop after zero padding by an eighth of the side, and an optional mirror.

    Works on a batch, one crop and mirror per example, gathered in one indexing step. `seed` is
    a shape-[2] integer tensor: the same seed always gives the same crops and mirrors, so a
    seeded pipeline is repeatable. Images and masks move together.
    """
    images = batch["image"]
    height, width = images.shape[1:3]
    pad_h, pad_w = max(1, height // 8), max(1, width // 8)
    count = tf.shape(images)[0]
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    spread = tf.constant([2 * pad_h + 1, 2 * pad_w + 1], tf.float32)
    offsets = tf.cast(tf.random.stateless_uniform([count, 2], crop_seed) * spread, tf.int32)
    mirrored = tf.random.stateless_uniform([count, 1], flip_seed) < (0.5 if flip else 0.0)
    # Index of each output pixel in the padded image: a shifted window, read backwards if mirrored.
    rows = offsets[:, :1] + tf.range(height)
    cols = offsets[:, 1:] + tf.where(mirrored, tf.range(width - 1, -1, -1), tf.range(width))
    out = dict(batch)
    for key in ("image", "mask"):
        if key in batch:
            spatial_pads = [[0, 0], [pad_h, pad_h], [pad_w, pad_w]]
            padded = tf.pad(batch[key], spatial_pads + [[0, 0]] * (batch[key].shape.rank - 3))
            out[key] = tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
    return out


def affine_transforms(angle: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """The (N, 8) projective transforms (each output pixel's source, as Keras's
    `affine_transform` takes them) that turn each image counter-clockwise by `angle` (radians,
    (N,)), scale it by `scale` ((N,)) and then move it by `shift` ((N, 2): down, right, pixels),
    all about the image's centre."""
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Source = R(angle)^-1 / scale applied to (output - centre - shift), plus the centre.
    out_y, out_x = centre_y + shift[:, 0], centre_x + shift[:, 1]
    a0, a1, b0, b1 = cos, -sin, sin, cos
    a2 = centre_x - a0 * out_x - a1 * out_y
    b2 = centre_y - b0 * out_x - b1 * out_y
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def jitter(batch: dict, seed: tf.Tensor) -> dict:
    """Random small rotations, scalings and shifts (at most `JITTER`), one per example, zero
    filled; masks move with their images (nearest neighbour). `seed`: as in `augment`."""
    images = batch["image"]
    height, width = images.shape[1:3]
    draws = tf.random.stateless_uniform([tf.shape(images)[0], 4], seed, -1.0, 1.0)
    angle = draws[:, 0] * JITTER["degrees"] * math.pi / 180
    scale = 1.0 + draws[:, 1] * JITTER["scale"]
    shift = draws[:, 2:] * tf.constant([height, width], tf.float32) * JITTER["shift"]
    transforms = affine_transforms(angle, scale, shift, height, width)
    out = dict(batch)
    out["image"] = keras.ops.image.affine_transform(images, transforms, fill_mode="constant")
    if "mask" in batch:
        masks = keras.ops.image.affine_transform(batch["mask"][..., None], transforms, "nearest", "constant")
        out["mask"] = masks[..., 0]
    return out
