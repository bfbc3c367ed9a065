"""Score-CAM (Wang et al., "Score-CAM: score-weighted visual explanations for convolutional neural
networks", CVPR workshops 2020): no gradient at all. Each feature map of the layer, upsampled to
the input and scaled to [0, 1], masks the image; the class probability of that masked image is
the map's weight. The masked images go to the model `batch_size` at a time."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.inference import batched, probabilities_of_copies
from pipeline.visualize._common import as_batch, class_indices, float32, last_conv_layer, submodel, unit_range
from pipeline.visualize.grad_cam import weighted_maps


def score_cam(
    model: keras.Model, x, layer_name: str | None = None, class_index=None, batch_size: int = 256
) -> np.ndarray:
    """(N, H, W) in [0, 1] at the input's size; `layer_name` None: the last convolutional layer;
    `class_index` None: the predicted class."""
    x = as_batch(x)
    classes = class_indices(model, x.numpy(), class_index, batch_size)
    probe = submodel(model, [layer_name or last_conv_layer(model)])
    maps = tf.constant(batched(lambda part: float32(probe(part, training=False)), x.numpy(), batch_size))
    masks = unit_range(tf.image.resize(maps, x.shape[1:3], method="bilinear").numpy())  # (N, H, W, K)
    count, images = masks.shape[-1], x.numpy()

    def masked(index: np.ndarray) -> np.ndarray:
        image, channel = index // count, index % count
        return images[image] * masks[image, :, :, channel][..., None]

    weights = probabilities_of_copies(model, masked, len(images) * count, np.repeat(classes, count), batch_size)
    return weighted_maps(tf.constant(weights.reshape(len(images), 1, 1, count)), maps, x.shape[1:3])
