"""A PostgreSQL tracking store: a run recorded in it, and one line (exit 2) before training when it
cannot be reached. Each test creates and drops its own database; without a PostgreSQL server at
127.0.0.1:5432 (a laptop) they skip and say so."""

import pytest

from pipeline.tracking.server import scratch_database, tracking_server
from pipeline.tracking.store import TrackingUnavailableError, probe


@pytest.fixture
def database():
    try:
        with scratch_database(prefix="convnet_test") as uri:
            yield uri
    except TrackingUnavailableError as error:
        pytest.skip(str(error))


@pytest.mark.slow
def test_a_run_is_recorded_in_postgresql(database, cli):
    import mlflow

    done = cli("debug=tiny", "stages=[train]", f"tracking.uri={database}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    client = mlflow.MlflowClient(database)
    (run,) = client.search_runs([client.get_experiment_by_name("debug").experiment_id])
    assert run.info.status == "FINISHED" and "test_accuracy" in run.data.metrics
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")] == [1]


def test_a_missing_database_or_server_fails_before_training(database):
    missing = database + "_missing"
    with pytest.raises(TrackingUnavailableError, match=r"MLflow database .*_missing refused .*does not exist"):
        probe(missing, timeout_s=3)
    with pytest.raises(TrackingUnavailableError, match=r"MLflow database postgresql://postgres@127.0.0.1:1/x refused"):
        probe("postgresql://postgres@127.0.0.1:1/x", timeout_s=2)
    probe(database, timeout_s=3)  # the real one answers


def test_the_password_never_shows(database):
    with pytest.raises(TrackingUnavailableError) as caught:
        probe("postgresql://postgres:s3cret@127.0.0.1:1/x", timeout_s=2)
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)


def test_the_server_script_refuses_a_database_that_does_not_answer():
    import subprocess
    import sys

    bad = "postgresql://postgres:pw@127.0.0.1:1/x"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.tracking.server", "--backend-store-uri", bad],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("MLflow database postgresql://postgres:***@127.0.0.1:1/x refused")


@pytest.mark.slow
def test_a_run_through_the_server_on_postgresql(database, cli, tmp_path):
    """`make server`'s command on a PostgreSQL database: the run lands in the database, its
    figures and its logged model in the server's artifact folder (uploaded through it), and the
    printed link is the server's own UI."""
    import mlflow

    artifacts = tmp_path / "served"
    with tracking_server(database, artifacts) as uri:
        done = cli("debug=tiny", "stages=[train]", "tracking.log_model=true", f"tracking.uri={uri}")
        assert done.returncode == 0, done.stdout[-3000:]
        assert f"To look: {uri}/#/experiments/" in done.stdout
    client = mlflow.MlflowClient(database)
    (run,) = client.search_runs([client.get_experiment_by_name("debug").experiment_id])
    assert run.info.status == "FINISHED"
    pictures = sorted(p.name for p in artifacts.rglob("*.png"))
    assert pictures == ["confusion_matrix.png", "reliability.png", "training_curves.png"]
    [model] = client.search_logged_models([run.info.experiment_id])
    assert model.source_run_id == run.info.run_id and len(list(artifacts.rglob("MLmodel"))) == 1
