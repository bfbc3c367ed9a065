"""Training never dies of the tracker: what the store cannot take waits in the run directory, in
order and with its own times, and is delivered when the store answers again or by
`python -m pipeline.tracking.sync`."""

import json
import signal
import subprocess
import sys
import time

import mlflow
import pytest
from mlflow.exceptions import MlflowException

import pipeline.tracking.outbox as outbox_module
import pipeline.tracking.sync as sync
from pipeline.tracking.outbox import OUTBOX_FILE, Outbox
from pipeline.tracking.server import free_port, tracking_server
from tests.cli import cli_env


@pytest.fixture
def outbox_run(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    run = client.create_run(client.create_experiment("outbox"))
    (tmp_path / "mlflow_run_id").write_text(run.info.run_id)
    return uri, client, run.info.run_id


def an_outage(monkeypatch):
    """The store refuses every record until the returned function is called."""
    real, down = outbox_module.deliver, [True]

    def deliver(uri, run_id, record):
        if down[0]:
            raise MlflowException("API request failed: connection refused")
        real(uri, run_id, record)

    monkeypatch.setattr(outbox_module, "deliver", deliver)
    monkeypatch.setattr(outbox_module.Outbox, "flush", _flush_without_probe(outbox_module.Outbox.flush))
    return lambda: down.__setitem__(0, False)


def _flush_without_probe(flush):
    """The probe would find the (real) store up: leave the decision to the patched deliver."""

    def patched(self, probe_timeout_s=2.0):
        import pipeline.tracking.store as store_probe

        real_probe, store_probe.probe = store_probe.probe, lambda uri, timeout_s: None
        try:
            return flush(self, probe_timeout_s)
        finally:
            store_probe.probe = real_probe

    return patched


def test_records_wait_in_order_and_go_when_the_store_answers(outbox_run, tmp_path, monkeypatch, caplog):
    uri, client, run_id = outbox_run
    restore = an_outage(monkeypatch)
    box = Outbox(uri, run_id, tmp_path)
    for step in (1, 2):
        box.send({"op": "metrics", "metrics": {"loss": 1.0 / step}, "step": step})
        time.sleep(0.01)
    assert box.pending == 2 and (tmp_path / OUTBOX_FILE).exists()
    assert sum("did not take a record" in r.message for r in caplog.records) == 1  # said once
    assert client.get_metric_history(run_id, "loss") == []
    restore()
    monkeypatch.setattr(outbox_module, "RETRY_S", 0.0)
    box.send({"op": "metrics", "metrics": {"loss": 1 / 3}, "step": 3})  # the next record takes the queue along
    assert box.pending == 0 and not (tmp_path / OUTBOX_FILE).exists()
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [1, 2, 3] and [m.value for m in history] == [1.0, 0.5, 1 / 3]
    stamps = [m.timestamp for m in history]
    assert stamps == sorted(stamps) and stamps[1] > stamps[0]  # each keeps the time it was logged


def test_sync_delivers_what_a_finished_run_left_behind(outbox_run, tmp_path, monkeypatch):
    uri, client, run_id = outbox_run
    restore = an_outage(monkeypatch)
    box = Outbox(uri, run_id, tmp_path)
    (tmp_path / "figure.txt").write_text("a figure")
    box.send({"op": "metrics", "metrics": {"loss": 0.5}, "step": 1})
    box.send({"op": "artifacts", "local": str(tmp_path / "figure.txt"), "path": "train"})
    box.send({"op": "end", "status": "FINISHED"})
    assert client.get_run(run_id).info.status == "RUNNING" and box.pending == 3
    restore()
    sync.main([str(tmp_path)])
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics == {"loss": 0.5}
    assert [a.path for a in client.list_artifacts(run_id, "train")] == ["train/figure.txt"]
    assert not (tmp_path / OUTBOX_FILE).exists()


def test_sync_of_a_directory_that_does_not_exist_says_so(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        sync.main([str(tmp_path / "missing")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'missing'} is not a run directory (outputs/<name>/<time>)"


def test_sync_says_in_one_line_when_the_store_still_does_not_answer(tmp_path):
    (tmp_path / "mlflow_run_id").write_text("0123")
    uri = f"http://127.0.0.1:{free_port()}"
    record = {"op": "end", "status": "FINISHED", "time_ms": 0, "uri": uri}
    (tmp_path / OUTBOX_FILE).write_text(json.dumps(record) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.tracking.sync", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"MLflow tracking server {uri} did not answer")


@pytest.mark.slow
def test_a_server_down_longer_than_the_retries_loses_nothing(tmp_path, tfds_dir):
    """The server stops after the first epoch and stays down: training ends normally (exit 0),
    the rest waits in the run directory; once the server is back, `pipeline.tracking.sync` delivers every
    epoch, the figures, the model and the final status to the same run."""
    port, backend, artifacts = free_port(), f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "served"
    uri = f"http://127.0.0.1:{port}"
    quick_failures = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
    overrides = ["stages=[train]", "trainer.epochs=4", "tracking.log_model=true", f"tracking.uri={uri}"]
    with tracking_server(backend, artifacts, port=port):
        training = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *overrides],
            cwd=tmp_path,
            env=cli_env(tfds_dir, **quick_failures),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        run_dir = _wait_for_first_epoch(tmp_path, training)
    out, _ = training.communicate(timeout=600)  # the server is down from here on
    assert training.returncode == 0, out[-3000:]
    assert f"python -m pipeline.tracking.sync {run_dir}" in out and (run_dir / OUTBOX_FILE).exists()
    with tracking_server(backend, artifacts, port=port):
        synced = subprocess.run(
            [sys.executable, "-m", "pipeline.tracking.sync", str(run_dir)], capture_output=True, text=True, timeout=600
        )
        assert synced.returncode == 0, synced.stderr[-3000:]
        client = mlflow.MlflowClient(uri)
        run = client.get_run((run_dir / "mlflow_run_id").read_text())
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")]
        figures = {a.path for a in client.list_artifacts(run.info.run_id, "train")}
        [model] = client.search_logged_models([run.info.experiment_id])
    assert run.info.status == "FINISHED" and steps == list(range(1, 5)) and "test_accuracy" in run.data.metrics
    assert figures >= {"train/training_curves.png", "train/confusion_matrix.png"}
    assert model.source_run_id == run.info.run_id


def _wait_for_first_epoch(tmp_path, process, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for history in tmp_path.glob("outputs/*/*/history.json"):
            if json.loads(history.read_text() or "[]"):
                return history.parent
        if process.poll() is not None:
            raise AssertionError(process.stdout.read()[-3000:])
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    raise TimeoutError("no epoch finished")
