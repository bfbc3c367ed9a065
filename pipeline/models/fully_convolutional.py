"""`to_fully_convolutional`: turn a classifier's Flatten + Dense head into convolutions.

The lecture's "converting linear to convolution": instead of flattening, convolve with a kernel
as large as the feature map before the flatten (its channels in, the Dense layer's units out);
later Dense layers become 1x1 convolutions. The weights are the same numbers, reshaped. At the
training input size the converted net outputs the same logits (as a 1x1 map); on a larger input
it slides the classifier over the image and outputs a map of class scores; for nets with only
"valid" convolutions (LeNet-5) each score is exactly the classifier's logits on one crop, while
"same" padding makes positions near a crop's edge see real pixels where the crop saw zeros.
"""

from __future__ import annotations

import keras

import layers
from pipeline.models.impl import IMPLS

# Layers of a classifier head that act on the last axis only, so they work on maps unchanged.
_POINTWISE = (
    keras.layers.Dropout,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.ELU,
    keras.layers.Activation,
    keras.layers.Softmax,
)


def to_fully_convolutional(model: keras.Model) -> keras.Model:
    """A model taking inputs of any size >= the training size and returning class-score maps.

    Args:
        model: a `keras.Sequential` classifier whose head is Flatten followed by Dense layers
            (and activations or dropout), e.g. `lenet5`, `alexnet`, `vgg16`, `pattern`, `linear`.

    Returns:
        A `keras.Model` from (batch, None, None, channels) to (batch, rows, cols, classes):
        1x1 at the training size, with the same logits.

    Raises:
        ValueError: the model is not such a classifier.
    """
    if not isinstance(model, keras.Sequential):
        raise ValueError(f"Expected a keras.Sequential classifier; {model.name} is a {type(model).__name__}.")
    flatten_at = next((i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Flatten)), None)
    if flatten_at is None:
        raise ValueError(
            f"{model.name} has no Flatten + Dense head to convert; nets ending in global average "
            "pooling (resnet, allconv) are fully convolutional up to that pooling already."
        )
    convs = IMPLS[
        "custom" if any(isinstance(layer, layers.Conv2D) for layer in model.layers) or flatten_at == 0 else "keras"
    ]
    inputs = keras.Input((None, None, model.input_shape[-1]))
    x = inputs
    for layer in model.layers[:flatten_at]:
        x = layer(x)
    window = model.layers[flatten_at].input.shape[1:3]
    for layer in model.layers[flatten_at + 1 :]:
        x = _convert(layer, window, convs)(x)
        window = (1, 1)
    return keras.Model(inputs, x, name=f"{model.name}_fully_conv")


def _convert(layer: keras.layers.Layer, window, convs) -> keras.layers.Layer:
    """The convolution doing `layer`'s job on a map, or `layer` itself if it is pointwise."""
    if isinstance(layer, _POINTWISE) or type(layer).__name__ == "Maxout":
        return layer
    if not isinstance(layer, keras.layers.Dense):
        raise ValueError(f"Cannot convert {layer.name} ({type(layer).__name__}) in a Flatten + Dense head.")
    kernel, bias = layer.get_weights()
    conv = convs.Conv2D(layer.units, tuple(window), activation=layer.activation, name=f"{layer.name}_conv")
    conv.build((None, *window, kernel.shape[0] // (window[0] * window[1])))
    conv.set_weights([kernel.reshape(*window, -1, layer.units), bias])
    return conv
