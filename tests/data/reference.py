"""Independent NumPy readings of generated data: what a bar's orientation or a wave's kind is."""

import numpy as np


def bar_orientation_deg(image: np.ndarray) -> float:
    """Orientation of the dominant straight feature, degrees in [0, 180), counter-clockwise.

    The structure tensor's dominant gradient direction is perpendicular to bars and edges.
    """
    image = image.astype(np.float64).squeeze()
    grad_rows, grad_cols = np.gradient(image)
    gx, gy = grad_cols, -grad_rows  # y up, as the generator's angles are
    angle = 0.5 * np.degrees(np.arctan2(2 * (gx * gy).sum(), (gx**2).sum() - (gy**2).sum()))
    return (angle + 90.0) % 180.0


def angle_distance_deg(a: float, b: float) -> float:
    """Distance between two orientations (mod 180 degrees)."""
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


def waveform_kind(signal: np.ndarray) -> int:
    """0 sine, 1 square, 2 triangle, 3 sawtooth, for a noise-free signal, from its differences."""
    s = signal.astype(np.float64).ravel()
    d1, d2 = np.diff(s), np.diff(s, 2)
    flat = np.abs(d1) < 1e-6
    if flat.mean() > 0.7:
        return 1  # constant between jumps
    if (d1 > 0).mean() > 0.85:
        return 3  # rises almost everywhere, drops at the wrap
    if (np.abs(d2) < 1e-5).mean() > 0.7:
        return 2  # straight segments
    return 0


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`image` moved by (dy, dx) pixels, zero filled (the crop-after-padding augmentation)."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def crop_and_mirror(original: np.ndarray, augmented: np.ndarray, max_shift: int) -> tuple[bool, bool]:
    """Whether `augmented` is a zero-filled shift of `original`, and whether it is mirrored."""
    for mirrored, source in ((False, original), (True, original[:, ::-1])):
        for dy in range(-max_shift, max_shift + 1):
            for dx in range(-max_shift, max_shift + 1):
                if np.allclose(shifted(source, dy, dx), augmented, atol=1e-6):
                    return True, mirrored
    return False, False
