"""How each task is measured, in two halves: tallies summed over a split inside the compiled
evaluation step (one all-reduce per batch), and the metrics the host computes from those sums.

- Images (reconstructions): PSNR and SSIM per image (`tf.image`, Wang et al. 2004: an 11x11
  Gaussian window of sigma 1.5, K1 0.01, K2 0.03), outputs clipped to the data range [0, 1].
- Masks (segmentation): one confusion matrix over every pixel of the split; per-class IoU
  (Jaccard) |true & predicted| / |true | predicted|, NaN for a class in neither; mean IoU over the
  classes present.
- Labels (classification): calibration as Guo et al. (ICML 2017) measure it: the expected
  calibration error over `ECE_BINS` equal-width confidence bins (lower, upper],
  sum_b |B_b| / n * |accuracy(B_b) - confidence(B_b)|.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

DATA_RANGE = 1.0  # images are float32 in [0, 1]
SSIM_WINDOW = 11  # Wang et al.'s Gaussian window, narrowed to the image when it is smaller
SSIM_SIGMA = 1.5
ECE_BINS = 15  # Guo et al.'s equal-width bins


def _clipped(images: tf.Tensor) -> tf.Tensor:
    return tf.clip_by_value(tf.cast(images, tf.float32), 0.0, DATA_RANGE)


def psnr(y, outputs) -> tf.Tensor:
    """Peak signal-to-noise ratio of each reconstruction in dB, (N,): 10 log10(1 / MSE)."""
    return tf.image.psnr(_clipped(y), _clipped(outputs), max_val=DATA_RANGE)


def ssim(y, outputs) -> tf.Tensor:
    """Structural similarity of each reconstruction, averaged over its pixels and channels, (N,)."""
    window = min(SSIM_WINDOW, *(n or SSIM_WINDOW for n in y.shape[1:3]))
    window -= 1 - window % 2  # odd
    return tf.image.ssim(_clipped(y), _clipped(outputs), DATA_RANGE, filter_size=window, filter_sigma=SSIM_SIGMA)


def confusion_counts(y, logits) -> tf.Tensor:
    """(classes * classes,) pixel counts of (true class, predicted class), row-major."""
    classes = logits.shape[-1]
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
    counts = tf.math.confusion_matrix(
        tf.reshape(tf.cast(y, tf.int32), [-1]), tf.reshape(predicted, [-1]), classes, dtype=tf.float32
    )
    return tf.reshape(counts, [-1])


def class_iou(counts: np.ndarray) -> np.ndarray:
    """Each class's IoU from a (classes, classes) confusion matrix; NaN for a class neither true
    nor predicted anywhere (it has no IoU)."""
    counts = np.asarray(counts, np.float64)
    hits = np.diag(counts)
    union = counts.sum(axis=0) + counts.sum(axis=1) - hits
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, hits / union, np.nan)


def mean_iou(counts: np.ndarray) -> float:
    """The mean IoU over the classes present (true or predicted somewhere)."""
    ious = class_iou(counts)
    return float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")


def calibration_bins(y, logits) -> tf.Tensor:
    """(3 * ECE_BINS,): per confidence bin, the examples, their summed confidence (the top
    softmax probability) and their correct predictions."""
    probabilities = tf.nn.softmax(tf.cast(logits, tf.float32))
    confidence = tf.reduce_max(probabilities, axis=-1)
    correct = tf.cast(tf.equal(tf.argmax(probabilities, -1, output_type=tf.int32), tf.cast(y, tf.int32)), tf.float32)
    bins = tf.clip_by_value(tf.cast(tf.math.ceil(confidence * ECE_BINS), tf.int32) - 1, 0, ECE_BINS - 1)
    per_bin = [tf.math.unsorted_segment_sum(v, bins, ECE_BINS) for v in (tf.ones_like(confidence), confidence, correct)]
    return tf.concat(per_bin, axis=0)


def reliability(bins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(examples, mean confidence, accuracy) per bin from `calibration_bins`' sums; NaN where a
    bin is empty."""
    count, confidence, correct = np.asarray(bins, np.float64).reshape(3, ECE_BINS)
    with np.errstate(invalid="ignore", divide="ignore"):
        return count, confidence / count, correct / count


def expected_calibration_error(bins: np.ndarray) -> float:
    """Guo et al.'s ECE from `calibration_bins`' sums over a split."""
    count, confidence, correct = np.asarray(bins, np.float64).reshape(3, ECE_BINS)
    return float(np.abs(correct - confidence).sum() / max(count.sum(), 1))
