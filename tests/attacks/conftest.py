"""The attacks' model: the shared digits LeNet-5 (tests/conftest.py), as (model, x, y)."""

import pytest


@pytest.fixture(scope="session")
def trained(digits_lenet):
    """(model, x, y): LeNet-5 after 4 epochs on digits, 96 test examples."""
    return digits_lenet.model, digits_lenet.x, digits_lenet.y
