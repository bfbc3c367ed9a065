"""Orientation tuning (Hubel and Wiesel 1959, 1962): how strongly each unit of a layer answers a
bar of light as the bar turns. Simple cells of the cat's visual cortex answer one orientation
and fall silent at right angles to it; first-layer filters trained on `bars` (or on digits'
strokes) do the same. The stimulus is a long anti-aliased bar through the image centre, light on
dark or dark on light, whichever the unit answers more (its polarity, like a cell's on or off
centre); a unit's response is its feature map's maximum over positions (a conv unit is the same
detector at every position, so this is the bar's best placement)."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.visualize._common import as_batch, float32, submodel

ANGLES = 36  # orientations over [0, 180) degrees, 5 degrees apart


def bar(size: tuple[int, int], angle: float, width: float = 2.0) -> np.ndarray:
    """(H, W) in [0, 1]: a bar `width` pixels wide through the centre, `angle` degrees
    counter-clockwise from horizontal (the `bars` dataset's convention), anti-aliased."""
    rows, cols = np.meshgrid(np.arange(size[0]) + 0.5, np.arange(size[1]) + 0.5, indexing="ij")
    dx, dy = cols - size[1] / 2, size[0] / 2 - rows
    theta = np.deg2rad(angle)
    across = -dx * np.sin(theta) + dy * np.cos(theta)
    return np.clip(width / 2 + 0.5 - np.abs(across), 0.0, 1.0).astype(np.float32)


def stimuli(input_shape, angles: np.ndarray, width: float = 2.0) -> np.ndarray:
    """(2 * len(angles), H, W, C): each angle's bar light on dark, then each dark on light."""
    h, w, c = input_shape
    light = np.stack([bar((h, w), a, width) for a in angles])[..., None].repeat(c, axis=-1)
    return np.concatenate([light, 1.0 - light])


def orientation_tuning(
    model: keras.Model, layer_name: str, angles: int | np.ndarray = ANGLES, width: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """(angles in degrees (A,), responses (A, channels)): each channel of `layer_name`'s output,
    its maximum over positions, at each orientation, for the polarity of the bar (light on dark
    or dark on light) that draws the channel's largest response."""
    angles = np.arange(angles) * 180.0 / angles if np.isscalar(angles) else np.asarray(angles, np.float64)
    images = stimuli(model.input_shape[1:], angles, width)
    maps = np.asarray(float32(submodel(model, [layer_name])(as_batch(images), training=False)))
    peak = maps.reshape(2, len(angles), -1, maps.shape[-1]).max(axis=2)  # (polarity, A, channels)
    polarity = peak.max(axis=1).argmax(axis=0)  # (channels,)
    return angles, np.take_along_axis(peak, polarity[None, None], axis=0)[0]


def selectivity(angles: np.ndarray, responses: np.ndarray) -> np.ndarray:
    """(channels,): the orientation selectivity index (R_pref - R_orth) / (R_pref + R_orth) of
    responses clipped at 0, R_orth taken at the sampled angle nearest 90 degrees from the
    preferred one; 0 for a silent unit. 1: it answers one orientation only; 0: any."""
    responses = np.maximum(responses, 0.0)
    preferred = angles[responses.argmax(axis=0)]
    off_right_angle = np.abs((angles[:, None] - preferred[None]) % 180.0 - 90.0)  # (A, channels)
    orth = np.take_along_axis(responses, off_right_angle.argmin(axis=0)[None], axis=0)[0]
    pref, total = responses.max(axis=0), responses.max(axis=0) + orth
    return np.where(total > 0, (pref - orth) / np.where(total > 0, total, 1.0), 0.0)
