"""The attribution methods as one family: `ATTRIBUTIONS` maps a name to a function
`(model, x, class_index=None, batch_size=256) -> (N, H, W)` whose maps are oriented so that
higher means more important to the class (occlusion: the probability's drop when a patch hides
the pixel; integrated gradients: the signed attribution, positive evidence highest). The
faithfulness metrics and the randomization check take any of them by name."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from pipeline.inference import probabilities
from pipeline.registry import Registry
from pipeline.visualize._common import class_indices
from pipeline.visualize.grad_cam import grad_cam
from pipeline.visualize.grad_cam_plus_plus import grad_cam_plus_plus
from pipeline.visualize.integrated_gradients import integrated_gradients
from pipeline.visualize.occlusion import occlusion, patch_for
from pipeline.visualize.saliency import saliency, smoothgrad
from pipeline.visualize.score_cam import score_cam

Attribution = Callable[..., np.ndarray]
ATTRIBUTIONS: Registry[Attribution] = Registry("visualize.faithfulness.methods")


@ATTRIBUTIONS.register("saliency")
def _saliency(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return saliency(model, x, class_index, batch_size)


@ATTRIBUTIONS.register("smoothgrad")
def _smoothgrad(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return smoothgrad(model, x, class_index, batch_size=batch_size)


@ATTRIBUTIONS.register("occlusion")
def _occlusion(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    """The drop of the class probability when a patch covers the pixel (the stage's patch)."""
    x = np.asarray(x, np.float32)
    classes = class_indices(model, x, class_index, batch_size)
    patch, stride = patch_for(min(x.shape[1:3]))
    kept = occlusion(model, x, classes, patch=patch, stride=stride, batch_size=batch_size)
    return probabilities(model, x, batch_size)[np.arange(len(x)), classes][:, None, None] - kept


@ATTRIBUTIONS.register("grad_cam")
def _grad_cam(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return grad_cam(model, x, class_index=class_index, batch_size=batch_size)


@ATTRIBUTIONS.register("grad_cam_plus_plus")
def _grad_cam_plus_plus(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return grad_cam_plus_plus(model, x, class_index=class_index, batch_size=batch_size)


@ATTRIBUTIONS.register("score_cam")
def _score_cam(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return score_cam(model, x, class_index=class_index, batch_size=batch_size)


@ATTRIBUTIONS.register("integrated_gradients")
def _integrated_gradients(model: keras.Model, x, class_index=None, batch_size: int = 256) -> np.ndarray:
    return integrated_gradients(model, x, class_index, batch_size=batch_size)


def attribution(method: str | Attribution) -> Attribution:
    """A registered method by name, or the callable itself."""
    return ATTRIBUTIONS[method] if isinstance(method, str) else method
