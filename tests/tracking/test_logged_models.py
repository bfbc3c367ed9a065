"""Models logged before the tracking package existed still load: their MLmodel files name
`pipeline.serving` as the pyfunc loader. The fixture is a small model (our Conv2D and
MaxPooling2D, then Dense) logged by `pipeline.serving.log` as it stood then, without the copy of
the project's code (`code/`) a logged model carries, so the loader of this checkout is the one
that runs; `logged_model_expected.npy` holds its outputs on its input example."""

import json
from pathlib import Path

import mlflow
import numpy as np
import yaml

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_model_logged_earlier_loads_through_the_loader_its_mlmodel_names():
    folder = FIXTURES / "logged_model"
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "pipeline.serving"
    x = np.asarray(json.loads((folder / "input_example.json").read_text()), np.float32)
    predicted = mlflow.pyfunc.load_model(str(folder)).predict(x)
    np.testing.assert_allclose(np.asarray(predicted), np.load(FIXTURES / "logged_model_expected.npy"), atol=1e-6)


def test_a_checkout_that_is_not_installed_pins_what_its_pyproject_declares(monkeypatch, caplog):
    """Run from a checkout without `pip install`: the requirements come from pyproject.toml, as
    the installed metadata would give them; a dependency missing here is left out, with a warning."""
    import importlib.metadata

    from pipeline.tracking import serving

    installed = serving.requirements()
    assert "tensorflow==" + importlib.metadata.version("tensorflow") in installed
    assert not any(line.startswith("convnet-layers") for line in installed)  # shipped as code

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "requires", not_installed)
    assert serving.requirements() == installed
    version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: not_installed(name) if name == "psutil" else version(name)
    )
    assert serving.requirements() == [line for line in installed if not line.startswith("psutil==")]
    assert "leave out psutil: not installed here" in caplog.text
