"""Score-CAM (Wang et al., "Score-CAM: score-weighted visual explanations for convolutional neural
networks", CVPR workshops 2020): no gradient at all. Each feature map of the layer, upsampled to
the input and scaled to [0, 1], masks the image; the class probability of that masked image is
the map's weight. The masked images go to the model `batch_size` at a time."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.inference import probabilities
from pipeline.visualize._common import as_batch, class_indices, float32, last_conv_layer, submodel, unit_range
from pipeline.visualize.grad_cam import weighted_maps


def score_cam(
    model: keras.Model, x, layer_name: str | None = None, class_index=None, batch_size: int = 256
) -> np.ndarray:
    """(N, H, W) in [0, 1] at the input's size; `layer_name` None: the last convolutional layer;
    `class_index` None: the predicted class."""
    x = as_batch(x)
    classes = class_indices(model, x.numpy(), class_index)
    maps = float32(submodel(model, [layer_name or last_conv_layer(model)])(x, training=False))
    masks = unit_range(tf.image.resize(maps, x.shape[1:3], method="bilinear").numpy())  # (N, H, W, K)
    count, images = masks.shape[-1], x.numpy()
    weights = np.zeros((len(images), count), np.float32)
    for index in np.array_split(np.arange(len(images) * count), max(1, -(-len(images) * count // batch_size))):
        image, channel = index // count, index % count
        masked = images[image] * masks[image, :, :, channel][..., None]
        weights[image, channel] = probabilities(model, masked, batch_size)[np.arange(len(index)), classes[image]]
    return weighted_maps(tf.constant(weights[:, None, None, :]), maps, x.shape[1:3])
