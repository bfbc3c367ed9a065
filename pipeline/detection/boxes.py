"""Sliding-window detection (the lecture's 003): a classifier with a background class, made fully
convolutional, scores every window of an image at once; each window whose best digit class is
likely enough is a box, non-maximum suppression keeps the best of overlapping boxes, and mean
average precision at IoU 0.5 (PASCAL VOC's all-point AP) says how well the boxes match."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline.data import iou
from pipeline.models import to_fully_convolutional


def score_maps(model: keras.Model, images: np.ndarray, batch_size: int = 32) -> tuple[np.ndarray, int, int]:
    """(class probabilities per window (N, rows, cols, classes), window side, stride): the
    classifier `model` slid over `images` as one fully convolutional pass per batch."""
    fcn = to_fully_convolutional(model)
    window = int(model.input_shape[1])
    maps = np.concatenate(
        [np.asarray(tf.nn.softmax(fcn(images[i : i + batch_size]))) for i in range(0, len(images), batch_size)]
    )
    rows, side = maps.shape[1], images.shape[1]
    stride = (side - window) // (rows - 1) if rows > 1 else window
    if rows > 1 and window + (rows - 1) * stride != side:
        raise ValueError(f"A {side}-pixel image gives {rows} windows of {window}: no whole stride fits.")
    return maps, window, stride


def window_boxes(rows: int, cols: int, window: int, stride: int) -> np.ndarray:
    """(rows * cols, 4): each window's box (y0, x0, y1, x1), row by row."""
    y, x = np.meshgrid(np.arange(rows) * stride, np.arange(cols) * stride, indexing="ij")
    return np.stack([y.ravel(), x.ravel(), y.ravel() + window, x.ravel() + window], axis=1).astype(np.float32)


def detections(
    probabilities: np.ndarray, window: int, stride: int, background: int, threshold: float = 0.5, nms_iou: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes (n, 4), scores (n,), classes (n,)) of one image's map (rows, cols, classes): every
    window whose most likely non-background class has probability >= `threshold`, then
    non-maximum suppression (`tf.image.non_max_suppression`) at IoU `nms_iou` over all classes
    (a window holds one object: overlapping boxes of different classes compete too)."""
    rows, cols, classes = probabilities.shape
    objects = np.delete(probabilities.reshape(-1, classes), background, axis=1)
    best, score = objects.argmax(axis=1), objects.max(axis=1)
    best = best + (best >= background)  # back to the model's class numbers
    boxes = window_boxes(rows, cols, window, stride)
    candidates = np.flatnonzero(score >= threshold)
    chosen = tf.image.non_max_suppression(boxes[candidates], score[candidates], max(len(candidates), 1), nms_iou)
    kept = candidates[chosen.numpy()]
    return boxes[kept], score[kept], best[kept]


def average_precision(scores: np.ndarray, hits: np.ndarray, truths: int) -> float:
    """PASCAL VOC's all-point AP: the area under the precision-recall curve of detections ranked
    by score, precision made monotone from the right; `hits` marks true positives."""
    if truths == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="stable")
    hit = np.asarray(hits, np.float64)[order]
    recall = np.concatenate([[0.0], np.cumsum(hit) / truths, [1.0]])
    precision = np.concatenate([[1.0], np.cumsum(hit) / np.arange(1, len(hit) + 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall) * precision[1:]))


def mean_average_precision(found: list[tuple], truths: list[tuple], match_iou: float = 0.5) -> tuple[float, dict]:
    """(mAP, {class: AP}) over images: `found` per image (boxes, scores, classes), `truths` per
    image (boxes, classes). A detection is a hit when it overlaps an unclaimed box of its class
    by IoU >= `match_iou` (the highest-scoring detections claim first); classes no image holds
    are left out."""
    per_class = {}
    for c in sorted({int(k) for _, classes in truths for k in classes}):
        scores, hits, count = [], [], 0
        for (boxes, score, classes), (true_boxes, true_classes) in zip(found, truths, strict=True):
            mine, theirs = classes == c, true_boxes[true_classes == c]
            scores.append(score[mine])
            hits.append(matches(boxes[mine], score[mine], theirs, match_iou))
            count += len(theirs)
        per_class[c] = average_precision(np.concatenate(scores), np.concatenate(hits), count)
    return float(np.mean(list(per_class.values()))) if per_class else float("nan"), per_class


def matches(boxes: np.ndarray, scores: np.ndarray, truths: np.ndarray, match_iou: float) -> np.ndarray:
    """(n,) bool: which detections claim a true box (IoU >= `match_iou`, the best unclaimed one),
    highest score first; a box is claimed once, so duplicates count as false positives."""
    hits, claimed = np.zeros(len(boxes), bool), np.zeros(len(truths), bool)
    for i in np.argsort(-scores, kind="stable"):
        if not len(truths):
            break
        overlap = np.where(claimed, -1.0, iou(boxes[i], truths))
        j = int(np.argmax(overlap))
        hits[i] = overlap[j] >= match_iou
        claimed[j] |= hits[i]
    return hits
