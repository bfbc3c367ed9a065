"""Generated configurations of each layer family (200 per family, from fixed seeds), and each
family's pair of classes (ours, Keras's): shared by the comparisons against Keras, eager and
compiled."""

import keras
import numpy as np

import layers
from tests.layers.helpers import onednn_crash_path

N_CONFIGS = 200
CONV = {
    1: (layers.Conv1D, keras.layers.Conv1D),
    2: (layers.Conv2D, keras.layers.Conv2D),
    3: (layers.Conv3D, keras.layers.Conv3D),
}
TRANSPOSE = {
    1: (layers.Conv1DTranspose, keras.layers.Conv1DTranspose),
    2: (layers.Conv2DTranspose, keras.layers.Conv2DTranspose),
    3: (layers.Conv3DTranspose, keras.layers.Conv3DTranspose),
}
POOL = {
    ("max", 1): (layers.MaxPooling1D, keras.layers.MaxPooling1D),
    ("max", 2): (layers.MaxPooling2D, keras.layers.MaxPooling2D),
    ("max", 3): (layers.MaxPooling3D, keras.layers.MaxPooling3D),
    ("avg", 1): (layers.AveragePooling1D, keras.layers.AveragePooling1D),
    ("avg", 2): (layers.AveragePooling2D, keras.layers.AveragePooling2D),
    ("avg", 3): (layers.AveragePooling3D, keras.layers.AveragePooling3D),
}


def _rank(rng):
    return int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))


def conv_configs(seed=1):
    rng, configs = np.random.default_rng(seed), []
    while len(configs) < N_CONFIGS:
        rank = _rank(rng)
        kernel = tuple(int(k) for k in rng.integers(1, 5 if rank < 3 else 4, rank))
        stride = int(rng.integers(1, 4))
        dilation = 1 if stride > 1 else int(rng.choice([1, 1, 2, 3]))
        c_in = int(rng.integers(1, 7))
        if onednn_crash_path(kernel, (stride,), c_in):
            continue
        spatial = tuple(int((k - 1) * dilation + 1 + rng.integers(0, 9 if rank < 3 else 4)) for k in kernel)
        padding = str(rng.choice(["valid", "same"]))
        configs.append(
            dict(
                rank=rank,
                kernel=kernel,
                stride=stride,
                dilation=dilation,
                padding=padding,
                shape=(int(rng.integers(1, 4)), *spatial, c_in),
                filters=int(rng.integers(1, 7)),
            )
        )
    return configs


def transpose_configs(seed=2):
    rng, configs = np.random.default_rng(seed), []
    while len(configs) < N_CONFIGS:
        rank = _rank(rng)
        kernel = tuple(int(k) for k in rng.integers(1, 5 if rank < 3 else 4, rank))
        stride = int(rng.integers(1, 4))
        c_in = int(rng.integers(1, 7))
        if onednn_crash_path(kernel, (stride,), c_in) or onednn_crash_path(kernel, (stride,), 1):
            continue
        output_padding = None if rng.random() < 0.5 else int(rng.integers(0, stride))
        spatial = tuple(int(rng.integers(1, 8 if rank < 3 else 4)) for _ in kernel)
        padding = str(rng.choice(["valid", "same"]))
        if padding == "same" and output_padding is not None and any(k % 2 == 0 for k in kernel):
            continue  # Keras's output size and TensorFlow's disagree here; ours raises (tested)
        configs.append(
            dict(
                rank=rank,
                kernel=kernel,
                stride=stride,
                padding=padding,
                output_padding=output_padding,
                shape=(int(rng.integers(1, 4)), *spatial, c_in),
                filters=int(rng.integers(1, 7)),
            )
        )
    return configs


def pool_configs(kind, seed):
    rng, configs = np.random.default_rng(seed), []
    while len(configs) < N_CONFIGS:
        rank = _rank(rng)
        pool = tuple(int(k) for k in rng.integers(1, 5 if rank < 3 else 4, rank))
        strides = tuple(int(rng.integers(1, p + 2)) for p in pool)
        spatial = tuple(int(p + rng.integers(0, 8 if rank < 3 else 4)) for p in pool)
        configs.append(
            dict(
                kind=kind,
                rank=rank,
                pool=pool,
                strides=strides,
                padding=str(rng.choice(["valid", "same"])),
                shape=(int(rng.integers(1, 4)), *spatial, int(rng.integers(1, 5))),
            )
        )
    return configs
