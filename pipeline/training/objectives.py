"""What training minimises and how each target a dataset offers (`dataset.target`, the names of
`pipeline.data.load.TARGETS`) is measured: the one registry the training loop, the evaluation,
the progress bar, the closing line and `optimized_metric` look targets up in.

| target | loss | shown while training | measured on a split |
|---|---|---|---|
| label | cross-entropy | accuracy | accuracy, top-5 accuracy (over 5 classes), NLL, ECE |
| mask | cross-entropy per pixel | pixel accuracy | pixel accuracy, mean IoU, IoU per class |
| image | MSE | PSNR | MSE, PSNR, SSIM |
| pair | binary cross-entropy | accuracy | accuracy (the train stage adds ROC AUC) |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from pipeline.registry import Registry
from pipeline.training import metrics

TOP_K = 5  # top-5 accuracy, ImageNet's other headline number


@dataclass(frozen=True)
class Totals:
    """A split's sums: the loss, the running metric, the examples and the target's tallies."""

    loss: float
    running: float
    count: float
    tallies: np.ndarray

    def mean(self, value: float) -> float:
        return value / max(self.count, 1)


@dataclass(frozen=True)
class Objective:
    """loss: (targets, float32 outputs) -> (N,) per-example loss. running: the name of the metric
    the progress bar and the per-epoch history show, `per_example` its value per example (its
    mean over a split is the metric). tallies: (targets, outputs) -> the fixed-size vector of
    further sums a split's metrics need. summary: (totals, class names) -> the split's metrics
    by name (a class's own under `<metric>/<class>`). headline: the metrics the closing line
    shows (those measured), the first what a sweep optimises by default."""

    loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    running: str
    per_example: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    tallies: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    summary: Callable[[Totals, Sequence[str]], dict[str, float]]
    headline: tuple[str, ...]


def _per_example(values: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """Averaged over everything but the batch axis (a mask's pixels, an image's values)."""
    return tf.reduce_mean(tf.reshape(values, [count, -1]), axis=1)


def _cross_entropy(y, outputs):
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y, tf.int32), outputs)
    return _per_example(losses, tf.shape(y)[0])


def _class_hits(y, outputs):
    hits = tf.equal(tf.argmax(outputs, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32))
    return _per_example(tf.cast(hits, tf.float32), tf.shape(y)[0])


def _squared_error(y, outputs):
    return _per_example(tf.square(outputs - tf.cast(y, tf.float32)), tf.shape(y)[0])


def _same_logit(outputs) -> tf.Tensor:
    return tf.reshape(outputs, [-1])


def _pair_cross_entropy(y, outputs):
    """Binary cross-entropy of the "same class" logit (Koch, Zemel and Salakhutdinov 2015)."""
    return tf.nn.sigmoid_cross_entropy_with_logits(tf.cast(tf.reshape(y, [-1]), tf.float32), _same_logit(outputs))


def _pair_hits(y, outputs):
    return tf.cast(tf.equal(_same_logit(outputs) > 0, tf.reshape(y, [-1]) > 0), tf.float32)


def _no_tallies(y, outputs):
    return tf.zeros([0])


def has_top_k(classes: int | None, k: int = TOP_K) -> bool:
    """Top-k accuracy means something for labels from more than `k` classes."""
    return classes is not None and classes > k


def _label_tallies(y, outputs):
    """Top-k hits (0 when `has_top_k` is false) and the calibration bins."""
    top_k = tf.constant(0.0)
    if has_top_k(outputs.shape[-1]):
        hits = tf.math.in_top_k(tf.reshape(tf.cast(y, tf.int32), [-1]), outputs, TOP_K)
        top_k = tf.reduce_sum(tf.cast(hits, tf.float32))
    return tf.concat([top_k[None], metrics.calibration_bins(y, outputs)], axis=0)


def _label_summary(totals: Totals, class_names: Sequence[str]) -> dict[str, float]:
    found = {"accuracy": totals.mean(totals.running)}
    if has_top_k(len(class_names)):
        found[f"top{TOP_K}_accuracy"] = totals.mean(totals.tallies[0])
    return (
        found
        | {
            "nll": totals.mean(totals.loss),  # the loss: the mean negative log-likelihood of the true class
            "ece": metrics.expected_calibration_error(totals.tallies[1:]),
        }
    )


def _mask_summary(totals: Totals, class_names: Sequence[str]) -> dict[str, float]:
    counts = totals.tallies.reshape(len(class_names), len(class_names))
    per_class = metrics.class_iou(counts)
    return {
        "pixel_accuracy": float(np.trace(counts) / max(counts.sum(), 1)),
        "mean_iou": metrics.mean_iou(counts),
        **{f"iou/{name}": float(v) for name, v in zip(class_names, per_class, strict=True) if np.isfinite(v)},
    }


def _image_tallies(y, outputs):
    return tf.reduce_sum(metrics.ssim(y, outputs))[None]


def _image_summary(totals: Totals, class_names: Sequence[str]) -> dict[str, float]:
    return {
        "mse": totals.mean(totals.loss),
        "psnr": totals.mean(totals.running),
        "ssim": totals.mean(totals.tallies[0]),
    }


def _pair_summary(totals: Totals, class_names: Sequence[str]) -> dict[str, float]:
    return {"accuracy": totals.mean(totals.running)}


OBJECTIVES: Registry[Objective] = Registry("dataset.target")
OBJECTIVES.register(
    "label",
    Objective(
        _cross_entropy,
        "accuracy",
        _class_hits,
        _label_tallies,
        _label_summary,
        ("accuracy", f"top{TOP_K}_accuracy", "nll", "ece"),
    ),
)
OBJECTIVES.register(
    "mask",
    Objective(
        _cross_entropy,
        "pixel_accuracy",
        _class_hits,
        metrics.confusion_counts,
        _mask_summary,
        ("mean_iou", "pixel_accuracy"),
    ),
)
OBJECTIVES.register(
    "image", Objective(_squared_error, "psnr", metrics.psnr, _image_tallies, _image_summary, ("psnr", "ssim", "mse"))
)
OBJECTIVES.register(
    "pair", Objective(_pair_cross_entropy, "accuracy", _pair_hits, _no_tallies, _pair_summary, ("roc_auc", "accuracy"))
)


def headline(target: str) -> list[str]:
    """The test metrics the closing line shows for `target` (those the run measured)."""
    return [f"test_{name}" for name in OBJECTIVES[target].headline]


def default_metric(target: str) -> str:
    """What a sweep optimises unless `optimized_metric` says otherwise."""
    return f"test_{OBJECTIVES[target].headline[0]}"
