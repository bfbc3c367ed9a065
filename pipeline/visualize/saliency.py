"""Saliency maps (Simonyan, Vedaldi and Zisserman, "Deep inside convolutional networks", 2014):
how much each pixel moves the class score, |d logit_c / d x| with the maximum over channels;
and SmoothGrad (Smilkov et al. 2017), the same averaged over noisy copies of the image."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.inference import index_batches, traced
from pipeline.visualize.arrays import as_batch, class_indices, float32
from pipeline.visualize.methods import ATTRIBUTIONS, Context, heatmap_panel, method


def input_gradient(model: keras.Model, x, classes: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """d logit_{classes[i]} / d x_i for every example: (N, H, W, C), `batch_size` at a time."""
    x = as_batch(x)
    gradient = traced(model, _gradient)
    parts = [
        gradient(x[i[0] : i[-1] + 1], tf.constant(classes[i], tf.int32)).numpy()
        for i in index_batches(int(x.shape[0]), batch_size)
    ]
    return np.concatenate(parts)


def _gradient(model: keras.Model, x: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = float32(model(x, training=False))
        score = tf.reduce_sum(tf.gather(logits, classes, axis=-1, batch_dims=1))
    return tape.gradient(score, x)


@ATTRIBUTIONS.register("saliency")
def saliency(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    """max over channels of |d logit_c / d x|, (N, H, W); `class_index=None`: the predicted class."""
    classes = class_indices(model, np.asarray(x), class_index, batch_size)
    return np.abs(input_gradient(model, x, classes, batch_size)).max(axis=-1)


@ATTRIBUTIONS.register("smoothgrad")
def smoothgrad(
    model: keras.Model,
    x,
    class_index=None,
    samples: int = 25,
    noise: float = 0.15,
    seed: int = 0,
    batch_size: int = 256,
) -> np.ndarray:
    """Saliency averaged over `samples` copies with Gaussian noise of std `noise` x the value range
    (the noisy copies of all the images go to the model together, `batch_size` at a time)."""
    x = np.asarray(x, np.float32)
    classes = class_indices(model, x, class_index, batch_size)
    spread = noise * float(x.max() - x.min() or 1.0)

    def noise_of(sample: int) -> np.ndarray:  # draw `sample` for every image: the same in any batch
        return np.random.default_rng([seed, sample]).normal(0.0, spread, x.shape).astype(np.float32)

    total = np.zeros(x.shape, np.float32)
    for index in index_batches(samples * len(x), batch_size):  # sample-major: copy i is image i % N
        sample, image = index // len(x), index % len(x)
        noisy = np.concatenate([x[image[sample == s]] + noise_of(s)[image[sample == s]] for s in np.unique(sample)])
        np.add.at(total, image, np.abs(input_gradient(model, noisy, classes[image], batch_size)))
    return (total / samples).max(axis=-1)


@method("saliency", "attribution", classifier=True)
def saliency_panel(c: Context) -> list[Panel]:
    title = "Saliency: |d logit / d x| of the predicted class"
    caption = "Which pixels change the predicted class's score the most (max over channels)."
    return heatmap_panel(c, "saliency", saliency(c.model, c.shown), title, "|gradient|", caption, overlay=False)


@method("smoothgrad", "attribution", classifier=True)
def smoothgrad_panel(c: Context) -> list[Panel]:
    maps = smoothgrad(c.model, c.shown, seed=c.settings.seed)
    title = "SmoothGrad: saliency averaged over noisy copies"
    caption = "Saliency averaged over 25 noisy copies of each image: less speckle, same evidence."
    return heatmap_panel(c, "smoothgrad", maps, title, "|gradient|", caption, overlay=False)
