"""For autoencoders: reconstructions, and interpolation between the codes of two images (deep
feature interpolation, Upchurch et al. CVPR 2017, in the autoencoder's latent space)."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.drawing import Panel
from pipeline.visualize.arrays import as_batch, float32
from pipeline.visualize.figures import images_figure
from pipeline.visualize.layer_graph import (
    graph,
    layer_output,
    model_output,
    parents,
)
from pipeline.visualize.methods import Context, method


def reconstructions(model: keras.Model, x) -> np.ndarray:
    """An autoencoder's outputs for the images `x`, (N, H, W, C) in float32."""
    return np.asarray(float32(model(as_batch(x), training=False)))


def _upstream(reads: dict[str, list[tuple[str, int]]], name: str) -> set[str]:
    """`name` and every layer it depends on."""
    found, todo = set(), [name]
    while todo:
        layer = todo.pop()
        if layer not in found:
            found.add(layer)
            todo += [parent for parent, _ in reads.get(layer, [])]
    return found


def _decoder_inputs(model: keras.Model, code_layer: str) -> list:
    """The code, then every other tensor the decoder reads from the encoder (the max-pooling
    switches its unpooling layers need), found in the model's graph: what layers downstream of
    the code read from layers upstream of it."""
    reads = parents(model)
    encoder = _upstream(reads, code_layer)
    crossing = [
        (p, i)
        for layer, tensors in reads.items()
        if layer not in encoder
        for p, i in tensors
        if p in encoder and p != code_layer
    ]
    outputs = graph(model).outputs
    extra = [outputs[p][i] if isinstance(outputs[p], (list, tuple)) else outputs[p] for p, i in dict.fromkeys(crossing)]
    return [layer_output(model, code_layer), *extra]


def interpolate(model: keras.Model, x_a, x_b, code_layer: str, steps: int = 8) -> np.ndarray:
    """Decoded images along the straight line between the codes of `x_a` and `x_b` (one image
    each, (H, W, C)) at `code_layer`: (steps, H, W, C), the first and last the two reconstructions.

    A decoder that unpools needs the encoder's switches, which cannot be interpolated; each code
    on the line is decoded with the switches of both ends and the two blended by the same weight.
    """
    inputs = _decoder_inputs(model, code_layer)
    encoder = keras.Model(graph(model).input, inputs)
    decoder = keras.Model(inputs, model_output(model))
    ends = encoder(as_batch(np.stack([x_a, x_b])), training=False)
    ends = ends if isinstance(ends, (list, tuple)) else [ends]
    weights = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    codes = (1 - weights[:, None]) * np.asarray(ends[0][:1]) + weights[:, None] * np.asarray(ends[0][1:])

    def decode(end: int) -> np.ndarray:
        switches = [np.repeat(np.asarray(s[end : end + 1]), steps, axis=0) for s in ends[1:]]
        return np.asarray(float32(decoder([codes, *switches], training=False)))

    shape = (-1,) + (1,) * (len(model.output_shape) - 1)
    return (1 - weights.reshape(shape)) * decode(0) + weights.reshape(shape) * decode(1)


@method("autoencoder", "representation", autoencoder=True)
def autoencoder_panel(c: Context) -> list[Panel]:
    """The latent space between two test images (the train stage shows the reconstructions of the
    test split with their PSNR)."""
    line = interpolate(c.model, c.shown[0], c.shown[1], c.code_layer, steps=8)
    return [
        Panel(
            "interpolation",
            images_figure(
                list(line), [f"{w:.2f}" for w in np.linspace(0, 1, len(line))], "Decoded points between two codes"
            ),
            "Decoding points on the straight line between two images' codes: the latent space is continuous.",
        ),
    ]
