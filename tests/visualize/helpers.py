"""Small models whose evidence is known, built with our layers and with keras.layers; a stage
context on random images; and a "method" that never looks at the model."""

import keras
import numpy as np
import tensorflow as tf
from omegaconf import OmegaConf

from pipeline.config import VisualizeConfig
from pipeline.models import IMPLS
from pipeline.models.nested import inline
from pipeline.visualize.methods import Context


def circular_pad(x, pad: int):
    """Wrap-around padding of the two spatial axes: the border a circular convolution sees."""
    x = tf.concat([x[:, -pad:], x, x[:, :pad]], axis=1)
    return tf.concat([x[:, :, -pad:], x, x[:, :, :pad]], axis=2)


def bar_detector(impl: str, size: int = 16) -> keras.Model:
    """conv (a 3x3 box sum, one filter) -> ReLU -> global mean -> logits [+m, -m]: class 0's
    evidence is wherever the image is bright, class 1 has only negative evidence."""
    inputs = keras.Input((size, size, 1))
    conv = IMPLS[impl].Conv2D(1, 3, padding="same", name="detector")
    maps = keras.layers.ReLU(name="detector_relu")(conv(inputs))
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(maps)
    head = keras.layers.Dense(2, name="logits")
    model = keras.Model(inputs, head(pooled))
    conv.set_weights([np.ones((3, 3, 1, 1), np.float32), np.zeros(1, np.float32)])
    head.set_weights([np.array([[4.0, -4.0]], np.float32), np.zeros(2, np.float32)])
    return model


def bar_image(size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A dark image with one bright horizontal bar; returns the image and the bar's mask."""
    image = np.zeros((size, size, 1), np.float32)
    mask = np.zeros((size, size), bool)
    mask[4:6, 3:13] = True
    image[mask] = 1.0
    return image, mask


class Watching(keras.layers.Layer):
    """Passes its input on, recording the largest batch that went through (a variable: traced
    functions record too)."""

    largest = tf.Variable(0, trainable=False)

    def call(self, x):
        Watching.largest.assign(tf.maximum(Watching.largest, tf.shape(x)[0]))
        return x


def watched(model: keras.Model) -> keras.Model:
    """`model` behind a `Watching` layer (its record reset), flattened as the stage flattens
    nested models (so the CAMs find its conv layers): what batches does a method send?"""
    inputs = keras.Input(model.input_shape[1:])
    Watching.largest.assign(0)
    return inline(keras.Model(inputs, model(Watching(name="watch")(inputs))))


SETTINGS = OmegaConf.merge(
    OmegaConf.structured(VisualizeConfig),
    dict(
        num_images=2,
        filters_per_layer=2,
        steps=3,
        dream_steps=2,
        dream_frames=1,
        embedding_examples=12,
        interpolation=dict(steps=2, num_images=1, strengths=[1.0]),
        faithfulness=dict(methods=["saliency", "score_cam"], num_images=2, steps=4, samples=8, randomization_images=1),
    ),
)


def context_of(model, channels: int = 1, target: str = "label", code_layer=None) -> Context:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(12, 32, 32, channels)).astype(np.float32)
    y = x if target == "image" else np.arange(12) % 10
    photos = {"chelsea": x[0]} if channels == 3 else {}
    sets = (x[:4], x[4:8]) if channels == 3 else None  # stand-ins for images without / with an attribute
    return Context(model, x, y, [f"class {k}" for k in range(10)], SETTINGS, target, code_layer, photos, sets)


def edges(model, x, class_index=None, batch_size=256):
    """A "method" that never looks at the model: the image's gradient magnitude."""
    gy, gx = np.gradient(np.asarray(x)[..., 0], axis=(1, 2))
    return np.hypot(gx, gy)
