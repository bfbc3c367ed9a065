"""Score-CAM (Wang et al., "Score-CAM: score-weighted visual explanations for convolutional neural
networks", CVPR workshops 2020): no gradient at all. Each feature map of the layer, upsampled to
the input and scaled to [0, 1], masks the image; the class probability of that masked image is
the map's weight. The masked images go to the model `batch_size` at a time."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.inference import batched, scores_of_copies
from pipeline.visualize.arrays import as_batch, class_indices, float32, unit_range
from pipeline.visualize.grad_cam import weighted_maps
from pipeline.visualize.layer_graph import (
    last_conv_layer,
    submodel,
)
from pipeline.visualize.methods import ATTRIBUTIONS, Context, heatmap_panel, method


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

    weights = scores_of_copies(model, masked, len(images) * count, np.repeat(classes, count), batch_size)
    return weighted_maps(tf.constant(weights.reshape(len(images), 1, 1, count)), maps, x.shape[1:3])


@ATTRIBUTIONS.register("score_cam")
def _score_cam_attribution(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return score_cam(model, x, class_index=class_index, batch_size=batch_size)


@method("score_cam", "attribution", classifier=True, conv=True)
def score_cam_panel(c: Context) -> list[Panel]:
    maps = score_cam(c.model, c.shown, batch_size=c.settings.faithfulness.batch_size)
    caption = "Score-CAM: each feature map of the last conv layer masks the image; the class's probability weighs it."
    return heatmap_panel(c, "score_cam", maps, "Score-CAM (no gradient)", "class activation", caption)
