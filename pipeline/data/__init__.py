"""Datasets: TFDS for the real ones, TFDS builders for the offline ones, a tf.data input pipeline.

>>> from pipeline.data import load
>>> train, info = load("digits", "train", batch_size=64)
>>> info.num_classes, info.input_shape
(10, (32, 32, 1))
"""

from pipeline.data.builders import OFFLINE_BUILDERS, triangle_sets
from pipeline.data.builders.canvas import BACKGROUND as CANVAS_BACKGROUND
from pipeline.data.builders.canvas import canvases, iou
from pipeline.data.load import DatasetInfo, load, load_arguments
from pipeline.data.photos import NAME as PHOTOS
from pipeline.data.photos import image_files, read_folder, read_image
from pipeline.data.samples import SAMPLE_IMAGES, sample_images
from pipeline.data.source import REAL_DATASETS, DatasetNotPreparedError

__all__ = [
    "CANVAS_BACKGROUND",
    "OFFLINE_BUILDERS",
    "PHOTOS",
    "REAL_DATASETS",
    "SAMPLE_IMAGES",
    "DatasetInfo",
    "DatasetNotPreparedError",
    "canvases",
    "image_files",
    "iou",
    "load",
    "load_arguments",
    "read_folder",
    "read_image",
    "sample_images",
    "triangle_sets",
]
