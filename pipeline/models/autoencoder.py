"""`autoencoder`: a convolutional autoencoder whose decoder undoes the encoder with max-unpooling
and transposed convolutions (Zeiler and Fergus, "Visualizing and understanding convolutional
networks", ECCV 2014, for unpooling with switches; Masci et al., "Stacked convolutional
auto-encoders", ICANN 2011).

conv -> pool (switches) -> conv -> pool (switches) -> FC to a `code_size` code ("code") ->
FC -> unpool (switches) -> transposed conv -> unpool (switches) -> transposed conv -> sigmoid.
It returns reconstructions in [0, 1], not logits; train it with `target="image"`.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from pipeline.models.impl import Impl


def min_input(**options) -> int:
    return 4


MULTIPLE_OF = 4  # two 2x2 pools must tile the input exactly for unpooling to invert them
CODE_LAYER = "code"  # the bottleneck the decoder starts from (declared in the architecture registry)


def build(inputs, num_classes: int, impl: Impl, code_size: int = 32, filters: Sequence[int] = (32, 64)):
    """`num_classes` is unused: the output has the input's shape."""
    del num_classes
    height, width, channels = inputs.shape[1:]
    first, second = filters
    x = keras.layers.ReLU(name="conv1_relu")(impl.Conv2D(first, 3, padding="same", name="conv1")(inputs))
    x, switches1 = impl.MaxPoolingWithIndices2D(2, name="pool1")(x)
    x = keras.layers.ReLU(name="conv2_relu")(impl.Conv2D(second, 3, padding="same", name="conv2")(x))
    x, switches2 = impl.MaxPoolingWithIndices2D(2, name="pool2")(x)
    code = keras.layers.Dense(code_size, name=CODE_LAYER)(keras.layers.Flatten(name="flatten")(x))

    x = keras.layers.Dense(height // 4 * width // 4 * second, activation="relu", name="decode_fc")(code)
    x = keras.layers.Reshape((height // 4, width // 4, second), name="decode_reshape")(x)
    x = impl.MaxUnpooling2D(2, name="unpool2")(x, switches2)
    x = impl.Conv2DTranspose(first, 3, padding="same", name="deconv2")(x)
    x = keras.layers.ReLU(name="deconv2_relu")(x)
    x = impl.MaxUnpooling2D(2, name="unpool1")(x, switches1)
    x = impl.Conv2DTranspose(channels, 3, padding="same", name="deconv1")(x)
    return keras.layers.Activation("sigmoid", name="reconstruction")(x)
