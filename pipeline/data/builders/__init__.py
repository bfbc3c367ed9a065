"""The offline datasets, as TFDS builders: importing this package registers them with TFDS."""

from pipeline.data.builders._base import OFFLINE_BUILDERS
from pipeline.data.builders.bars import Bars, BarsConfig
from pipeline.data.builders.canvas import CanvasConfig, DigitCanvas
from pipeline.data.builders.digits import Digits
from pipeline.data.builders.shapes import Shapes, ShapesConfig, triangle_sets
from pipeline.data.builders.signals import Signals, SignalsConfig

__all__ = [
    "OFFLINE_BUILDERS",
    "Bars",
    "BarsConfig",
    "CanvasConfig",
    "DigitCanvas",
    "Digits",
    "Shapes",
    "ShapesConfig",
    "Signals",
    "SignalsConfig",
    "triangle_sets",
]
