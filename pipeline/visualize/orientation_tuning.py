"""Orientation tuning (Hubel and Wiesel 1959, 1962): how strongly each unit of a layer answers a
bar of light as the bar turns. Simple cells of the cat's visual cortex answer one orientation
and fall silent at right angles to it; first-layer filters trained on `bars` (or on digits'
strokes) do the same. The stimulus is a long anti-aliased bar through the image centre, light on
dark or dark on light, whichever the unit answers more (its polarity, like a cell's on or off
centre); a unit's response is its feature map's maximum over positions (a conv unit is the same
detector at every position, so this is the bar's best placement)."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np

from pipeline.drawing import Panel
from pipeline.visualize.arrays import as_batch, float32
from pipeline.visualize.layer_graph import after_activation, kernel_layers, submodel
from pipeline.visualize.methods import Context, method

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


def tuning_figure(angles: np.ndarray, responses: np.ndarray, osi: np.ndarray, layer: str, max_units: int = 16):
    """A polar tuning curve per unit (orientation is 180-periodic: drawn over the full circle),
    each scaled to its own peak, titled with its preferred angle and selectivity index."""
    units = min(responses.shape[1], max_units)
    cols = min(units, 8)
    rows = int(np.ceil(units / cols))
    fig = plt.figure(figsize=(1.9 * cols, 2.1 * rows + 0.5))
    theta = np.deg2rad(np.concatenate([angles, angles + 180.0, angles[:1] + 360.0]))
    for unit in range(units):
        r = np.maximum(responses[:, unit], 0.0)
        r = r / r.max() if r.max() > 0 else r
        ax = fig.add_subplot(rows, cols, unit + 1, projection="polar")
        ax.plot(theta, np.concatenate([r, r, r[:1]]), color="tab:red")
        ax.fill(theta, np.concatenate([r, r, r[:1]]), color="tab:red", alpha=0.25)
        ax.set_xticks(np.deg2rad([0, 45, 90, 135]), ["0", "45", "90", "135"], fontsize=6)
        ax.set_yticks([])
        ax.set_title(f"unit {unit}: {angles[responses[:, unit].argmax()]:.0f} deg, OSI {osi[unit]:.2f}", fontsize=7)
    fig.suptitle(f"{layer}: response to a bar turned through 180 degrees (Hubel and Wiesel)")
    fig.tight_layout()
    return fig


@method("orientation_tuning", "preferred inputs", conv=True)
def orientation_tuning_panel(c: Context) -> list[Panel]:
    layer = after_activation(c.model, kernel_layers(c.model)[0])
    angles, responses = orientation_tuning(c.model, layer)
    osi = selectivity(angles, responses)
    c.metrics["orientation_selectivity_mean"] = float(osi.mean())
    return [
        Panel(
            "orientation_tuning",
            tuning_figure(angles, responses, osi, layer),
            f"How each unit of {layer} answers a bar through the centre as it turns (Hubel and Wiesel's "
            "experiment): a narrow lobe is an orientation detector; OSI 1 answers one orientation only, 0 any.",
        )
    ]
