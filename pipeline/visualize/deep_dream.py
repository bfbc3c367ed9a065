"""DeepDream (Mordvintsev, Olah and Tyka, 2015; the lecture's recipe): start from an image, shift
it by a random jitter, enhance a layer's activations by gradient ascent at several scales from
coarse to fine, and keep what was added."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.visualize.arrays import as_batch, float32
from pipeline.visualize.ascent import Regularisers, gradient_ascent
from pipeline.visualize.figures import images_figure
from pipeline.visualize.layer_graph import submodel
from pipeline.visualize.methods import Context, method


def deep_dream(
    model: keras.Model,
    x,
    layer_names: Sequence[str],
    octaves: int = 3,
    octave_scale: float = 1.4,
    steps: int = 20,
    step_size: float = 0.02,
    jitter: int = 2,
    seed: int = 0,
) -> np.ndarray:
    """Dreamed images, (N, H, W, C) in [0, 1].

    At octave k the change is a (H, W) / octave_scale^k image upsampled to the input size, so the
    coarse octaves add large patterns and the last adds fine detail; the model always sees its
    own input size (most classifiers cannot take another).
    """
    layers = tuple(layer_names)
    x = as_batch(x).numpy()
    size = np.array(x.shape[1:3])
    for k, octave in enumerate(reversed(range(octaves))):
        small = tuple(np.maximum(np.round(size / octave_scale**octave).astype(int), 1))
        base = tf.image.resize(x, small).numpy()
        start = x
        regularisers = Regularisers(jitter=jitter, blur_every=0, decay=0.0)
        args = (layers, tf.constant(start), tf.constant(base))
        z = gradient_ascent(model, _dream_score, base, steps, step_size, regularisers, seed + k, args)
        x = np.clip(start + tf.image.resize(z - base, size).numpy(), 0.0, 1.0)
    return x


def _dream_score(model: keras.Model, z: tf.Tensor, layers: tuple, start: tf.Tensor, base: tf.Tensor) -> tf.Tensor:
    """The summed L2 norms of the layers' activations on `start` plus what the ascent added to
    `base` (an octave's smaller image), upsampled to the model's input size."""
    image = start + tf.image.resize(z - base, tf.shape(start)[1:3])
    outputs = submodel(model, list(layers))(tf.clip_by_value(image, 0.0, 1.0), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return tf.add_n([tf.norm(tf.reshape(float32(o), [tf.shape(o)[0], -1]), axis=1) for o in outputs])


def _zoom(x: np.ndarray, factor: float) -> np.ndarray:
    """The centre 1/factor of each image, resized back to full size."""
    size = np.array(x.shape[1:3])
    keep = np.maximum(np.round(size / factor).astype(int), 1)
    top, left = (size - keep) // 2
    crop = x[:, top : top + keep[0], left : left + keep[1]]
    return np.clip(tf.image.resize(crop, size).numpy(), 0.0, 1.0)


def dream_zoom(
    model: keras.Model, x, layer_names: Sequence[str], frames: int = 6, zoom: float = 1.08, seed: int = 0, **dream
) -> list[np.ndarray]:
    """Zoom-and-repeat (the DeepDream video recipe): dream, zoom into the centre by `zoom`, dream
    on the result, `frames` times. Returns the start image and one dreamed image per frame, each
    (N, H, W, C) in [0, 1]; `dream` takes `deep_dream`'s keyword arguments."""
    x = as_batch(x).numpy()
    found = [x]
    for frame in range(frames):
        x = deep_dream(model, x if frame == 0 else _zoom(x, zoom), layer_names, seed=seed + frame, **dream)
        found.append(x)
    return found


@method("deep_dream", "preferred inputs", conv=True)
def deep_dream_panel(c: Context) -> list[Panel]:
    start = np.stack(list(c.photos.values())[:1] or [c.shown[0]])
    layer, count = c.layers[-1], c.settings.dream_frames
    frames = [
        f[0]
        for f in dream_zoom(c.model, start, [layer], frames=count, steps=c.settings.dream_steps, seed=c.settings.seed)
    ]
    shown = [frames[0], frames[1], *frames[2:][-2:]]
    titles = ["start", "frame 1", *[f"frame {k}" for k in range(len(frames) - len(shown) + 2, len(frames))]]
    return [
        Panel(
            "deep_dream",
            images_figure(shown, titles, f"DeepDream on {layer}"),
            f"Gradient ascent on the image itself at three scales, amplifying what {layer} responds to; then "
            f"zoom-and-repeat, {count} frames (deep_dream.gif).",
            animation=frames,
        )
    ]
