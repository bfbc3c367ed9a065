"""The visualization tests' settings and fixtures; their small models live in `helpers.py`."""

import os

import pytest

from pipeline.visualize import MAX_STEPS_ENV

os.environ.setdefault(MAX_STEPS_ENV, "48")  # caps every gradient-ascent loop in these tests


@pytest.fixture(params=["custom", "keras"])
def impl(request) -> str:
    return request.param
