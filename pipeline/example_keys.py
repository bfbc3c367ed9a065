"""One random key per example, from its pixels: an example's random draws (an attack's start, the
subsets a faithfulness metric removes) do not depend on the batch, order or subset of the data it
is evaluated in."""

from __future__ import annotations

import zlib

import numpy as np


def content_keys(seed: int, x: np.ndarray) -> np.ndarray:
    """(N,) uint32 keys from `seed` and each example's pixels (CRC-32): the same image gets the same
    randomness whatever batch, order or subset it is evaluated in."""
    x = np.ascontiguousarray(np.asarray(x, np.float32))
    return np.array([zlib.crc32(example.tobytes(), seed & 0xFFFFFFFF) for example in x], np.uint32)
