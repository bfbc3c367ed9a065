"""`make server ARGS="--app-name basic-auth"`: MLflow's users and passwords in front of the
tracking server. Wrong credentials end a run before training (one line, exit 2); the right ones
record it."""

import subprocess
import sys

import mlflow
import pytest

from pipeline.tracking.server import tracking_server
from pipeline.tracking.store import TrackingUnavailableError, probe

ADMIN = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": "an-admin-pw-for-tests"}


def test_basic_auth_without_its_secret_key_is_refused_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.tracking.server", "--app-name", "basic-auth"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "--app-name basic-auth needs MLFLOW_FLASK_SERVER_SECRET_KEY (the same on every server) and, "
        "on first start, MLFLOW_AUTH_ADMIN_PASSWORD for the admin user."
    ]


@pytest.mark.slow
def test_a_server_with_users_refuses_wrong_credentials_before_training(cli, tmp_path, monkeypatch):
    secrets = {"MLFLOW_FLASK_SERVER_SECRET_KEY": "k", "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN["MLFLOW_TRACKING_PASSWORD"]}
    backend, artifacts = f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "served"
    with tracking_server(backend, artifacts, "--app-name", "basic-auth", cwd=tmp_path, **secrets) as uri:
        expected = (
            f"MLflow tracking server {uri} refused these credentials (UNAUTHENTICATED): set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to a user of the server."
        )
        for name in ADMIN:
            monkeypatch.delenv(name, raising=False)
        with pytest.raises(TrackingUnavailableError) as none_given:  # the check the command line runs first
            probe(uri, timeout_s=10)
        assert str(none_given.value) == expected
        wrong = {**ADMIN, "MLFLOW_TRACKING_PASSWORD": "wrong"}
        refused = cli("debug=tiny", "stages=[train]", f"tracking.uri={uri}", **wrong)
        assert refused.returncode == 2, refused.stdout[-3000:]
        assert refused.stdout.strip().splitlines()[-1].endswith(expected)
        done = cli("debug=tiny", "stages=[train]", f"tracking.uri={uri}", **ADMIN)
        assert done.returncode == 0, done.stdout[-3000:]
        for name, value in ADMIN.items():
            monkeypatch.setenv(name, value)
        client = mlflow.MlflowClient(uri)
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [r.info.status for r in runs] == ["FINISHED"]  # the refused attempts left no run
