"""The input transform pretrained weights expect, as the model's first layer: inputs stay RGB in
[0, 1] everywhere else (attack budgets, pictures), the weights see what they were trained on."""

from __future__ import annotations

from collections.abc import Sequence

import keras


@keras.saving.register_keras_serializable(package="pipeline.models")
class Preprocess(keras.layers.Layer):
    """x in [0, 1] RGB -> (x * scale, channels reversed when `bgr`, - mean) / std.

    Keras Applications' "caffe" mode (VGG, ResNet50) is scale 255, BGR, ImageNet's BGR mean and
    std 1; HED's Caffe model uses its own BGR mean.

    >>> import numpy as np
    >>> layer = Preprocess(scale=255.0, bgr=True, mean=(103.939, 116.779, 123.68))
    >>> np.round(np.asarray(layer(np.array([[[[1.0, 0.5, 0.0]]]]))), 3).tolist()
    [[[[-103.939, 10.721, 131.32]]]]
    """

    def __init__(
        self,
        scale: float = 255.0,
        bgr: bool = True,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.scale, self.bgr = float(scale), bool(bgr)
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]

    def call(self, inputs):
        x = inputs * keras.ops.cast(self.scale, inputs.dtype)
        if self.bgr:
            x = keras.ops.flip(x, axis=-1)
        mean = keras.ops.cast(keras.ops.convert_to_tensor(self.mean), x.dtype)
        std = keras.ops.cast(keras.ops.convert_to_tensor(self.std), x.dtype)
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "bgr": self.bgr, "mean": self.mean, "std": self.std}
