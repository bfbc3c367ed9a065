"""A trained model served by MLflow over HTTP, in a server that never imported the project, and
found in the model registry by the alias the run gave it."""

import json
import sys
import urllib.request

import numpy as np
import pytest

from pipeline.tracking.server import free_port, running
from tests.cli import all_runs, mlflow_store


@pytest.mark.slow
def test_mlflow_serves_the_registered_model_over_http(cli, tmp_path):
    import keras

    import pipeline.models  # noqa: F401  (registers our layers in this process, for the reference)

    done = cli(
        "debug=tiny",
        "stages=[train]",
        "tracking.log_model=true",
        "tracking.registered_model_name=digits",
        "tracking.registered_model_alias=champion",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    [run] = all_runs(tmp_path)
    version = mlflow_store(tmp_path).get_model_version_by_alias("digits", "champion")
    assert version.run_id == run.info.run_id

    x = np.random.default_rng(1).random((2, 32, 32, 1)).astype("float32")
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/digits@champion"]
    command += ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with running(command, f"http://127.0.0.1:{port}/ping", MLFLOW_TRACKING_URI=uri):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"inputs": x.tolist()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            served = np.asarray(json.loads(response.read())["predictions"])
    local = keras.saving.load_model(next(tmp_path.glob("outputs/*/*/model.keras")))
    np.testing.assert_allclose(served, np.asarray(local(x)), atol=1e-5)


def test_an_alias_needs_a_registered_name(cli):
    done = cli("debug=tiny", "stages=[train]", "tracking.registered_model_alias=champion")
    assert done.returncode == 2
    assert (
        done.stdout.strip()
        .splitlines()[-1]
        .endswith("tracking.registered_model_alias=champion needs tracking.registered_model_name")
    )
