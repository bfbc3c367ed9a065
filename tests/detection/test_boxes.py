"""Sliding-window boxes, non-maximum suppression, VOC average precision and matching, against
numbers worked by hand; the canvases and windows of `digit_canvas` against their definitions."""

import numpy as np
import pytest

from pipeline.data.builders import canvas
from pipeline.detection import average_precision, detections, matches, mean_average_precision, window_boxes


def test_window_boxes_step_by_the_stride():
    boxes = window_boxes(2, 3, window=32, stride=4)
    assert boxes.tolist()[:4] == [[0, 0, 32, 32], [0, 4, 32, 36], [0, 8, 32, 40], [4, 0, 36, 32]]


def test_detections_keep_the_best_of_overlapping_windows_per_class():
    probabilities = np.zeros((3, 3, 3), np.float32)
    probabilities[..., 2] = 1.0  # background (class 2) everywhere ...
    probabilities[0, 0] = [0.9, 0.0, 0.1]  # ... but class 0 at (0, 0) and, weaker, at its neighbour
    probabilities[0, 1] = [0.8, 0.0, 0.2]
    probabilities[2, 2] = [0.0, 0.7, 0.3]  # class 1 far away
    probabilities[1, 1] = [0.4, 0.0, 0.6]  # under the threshold
    boxes, scores, classes = detections(probabilities, window=8, stride=2, background=2, threshold=0.5, nms_iou=0.3)
    assert classes.tolist() == [0, 1] and scores.tolist() == pytest.approx([0.9, 0.7])
    assert boxes.tolist() == [[0, 0, 8, 8], [4, 4, 12, 12]]


def test_average_precision_is_the_area_under_the_monotone_precision_recall_curve():
    # Ranked hits T F T with 3 true boxes: recall steps of 1/3 at precision 1 and 2/3, never 3/3.
    assert average_precision(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 3) == pytest.approx(
        1 / 3 * 1 + 1 / 3 * 2 / 3
    )
    # Ranked F T: the precision after the miss (1/2) counts for the only recall step.
    assert average_precision(np.array([0.9, 0.8]), np.array([False, True]), 1) == pytest.approx(0.5)
    assert average_precision(np.array([]), np.array([], bool), 2) == 0.0


def test_a_true_box_is_claimed_once_by_the_best_detection():
    truths = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    found = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 22, 30, 32], [50, 50, 60, 60]], np.float32)
    hits = matches(found, np.array([0.6, 0.9, 0.5, 0.95]), truths, match_iou=0.5)
    assert hits.tolist() == [False, True, True, False]  # 0.9 claims the first box; IoU 0.67 claims the second


def test_mean_average_precision_over_images_and_classes():
    truths = [(np.array([[0, 0, 10, 10]]), np.array([3])), (np.array([[0, 0, 10, 10]]), np.array([5]))]
    perfect = [(t[0].astype(np.float32), np.array([0.9]), t[1]) for t in truths]
    assert mean_average_precision(perfect, truths) == (1.0, {3: 1.0, 5: 1.0})
    wrong_class = [perfect[0], (perfect[1][0], np.array([0.9]), np.array([3]))]
    mean_ap, per_class = mean_average_precision(wrong_class, truths)
    assert per_class == {3: pytest.approx(1.0), 5: 0.0} and mean_ap == pytest.approx(0.5)


def test_canvases_place_whole_tiles_apart_and_windows_are_what_they_say():
    rng = np.random.default_rng(0)
    tiles = np.full((3, 32, 32, 1), 200, np.uint8)
    image, boxes, classes = canvas.canvas(tiles, np.array([1, 2, 3]), 96, rng)
    assert image.sum() == 3 * 32 * 32 * 200 and classes.tolist() == [1, 2, 3]
    assert all(canvas.iou(b, np.delete(boxes, i, axis=0)).max() == 0 for i, b in enumerate(boxes))
    for y0, x0, y1, x1 in boxes:
        assert (image[y0:y1, x0:x1] == 200).all()
    window, label = canvas.windows(image, boxes, classes, rng, background=False)
    assert label in (1, 2, 3) and (window > 0).mean() >= (30 / 32) ** 2  # moved by at most 2 pixels
    window, label = canvas.windows(image, boxes, classes, rng, background=True)
    assert label == canvas.BACKGROUND and (window > 0).mean() < 2 / 3  # IoU < 0.5 between equal squares
    drawn = canvas.canvases("test", 4, seed=1)
    assert len(drawn) == 4 and all(d[0].shape == (96, 96, 1) and 1 <= len(d[1]) <= 3 for d in drawn)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(drawn, canvas.canvases("test", 4, seed=1)))
