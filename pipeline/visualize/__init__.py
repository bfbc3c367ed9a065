"""Looking inside a trained convnet: functions that return arrays, one module per method holding
them, its figure and its registration (`METHODS`, `ATTRIBUTIONS`). None of them looks layers up
by Keras class, so they work on models built from our `layers/` and from `keras.layers` alike.

>>> from pipeline.visualize import saliency, grad_cam
>>> maps = saliency(model, images)                  # (N, H, W)
>>> heat = grad_cam(model, images, "conv3")         # (N, H, W) in [0, 1]
"""

from pipeline.visualize.activation_maximization import activation_maximization, class_model
from pipeline.visualize.arrays import MAX_STEPS_ENV
from pipeline.visualize.autoencoder import interpolate, reconstructions
from pipeline.visualize.deep_dream import deep_dream
from pipeline.visualize.embedding import embedding
from pipeline.visualize.equivariance import Equivariance, equivariance
from pipeline.visualize.faithfulness import BASELINES as FAITHFULNESS_BASELINES
from pipeline.visualize.faithfulness import CORRELATIONS as FAITHFULNESS_CORRELATIONS
from pipeline.visualize.faithfulness import SCORES as FAITHFULNESS_SCORES
from pipeline.visualize.faithfulness import faithfulness, random_maps
from pipeline.visualize.feature_interpolation import feature_interpolation
from pipeline.visualize.feature_maps import feature_maps
from pipeline.visualize.filters import filters
from pipeline.visualize.grad_cam import grad_cam
from pipeline.visualize.grad_cam_plus_plus import grad_cam_plus_plus
from pipeline.visualize.integrated_gradients import integrated_gradients
from pipeline.visualize.methods import ATTRIBUTIONS, METHODS, SECTIONS
from pipeline.visualize.occlusion import occlusion
from pipeline.visualize.orientation_tuning import orientation_tuning
from pipeline.visualize.per_pixel import PixelExplanation, pixel_explanations
from pipeline.visualize.randomization import randomization_check
from pipeline.visualize.receptive_field import ReceptiveField, effective_receptive_field
from pipeline.visualize.saliency import saliency, smoothgrad
from pipeline.visualize.score_cam import score_cam
from pipeline.visualize.top_patches import TopPatches, top_activating_patches

__all__ = [
    "MAX_STEPS_ENV",
    "ATTRIBUTIONS",
    "FAITHFULNESS_BASELINES",
    "FAITHFULNESS_CORRELATIONS",
    "FAITHFULNESS_SCORES",
    "METHODS",
    "SECTIONS",
    "PixelExplanation",
    "Equivariance",
    "ReceptiveField",
    "TopPatches",
    "activation_maximization",
    "class_model",
    "deep_dream",
    "effective_receptive_field",
    "embedding",
    "equivariance",
    "faithfulness",
    "feature_interpolation",
    "feature_maps",
    "filters",
    "grad_cam",
    "grad_cam_plus_plus",
    "integrated_gradients",
    "interpolate",
    "occlusion",
    "orientation_tuning",
    "pixel_explanations",
    "random_maps",
    "randomization_check",
    "reconstructions",
    "saliency",
    "score_cam",
    "smoothgrad",
    "top_activating_patches",
]
