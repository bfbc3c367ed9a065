"""A TFDS data_dir per test session (per xdist worker), where the offline datasets get built."""

import pytest


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("tfds"))
