"""Two CPU worker processes on 127.0.0.1 train one model together (MultiWorkerMirroredStrategy):
whole epochs at the default settings, both end with identical weights, and only the chief records
an MLflow run."""

import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import pipeline.models  # noqa: F401  (registers the custom layers for loading)
from pipeline.tracking.server import free_ports
from tests.cli import all_runs, cli_env, mlflow_store


def start_workers(tmp_path, tfds_dir, name: str, *overrides: str) -> list[subprocess.Popen]:
    """`python -m pipeline trainer.strategy=multi_worker *overrides` as two workers of one
    cluster on 127.0.0.1, worker i writing into `worker<i>/<name>` and `worker<i>-<name>.log`."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = cli_env(tfds_dir, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        command = [sys.executable, "-m", "pipeline", "trainer.strategy=multi_worker", *overrides]
        command.append(f"hydra.run.dir=worker{index}/{name}")
        with open(tmp_path / f"worker{index}-{name}.log", "w") as log:  # a file: a full pipe would block a worker
            workers.append(subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT))
    return workers


def finish(tmp_path, name: str, workers: list[subprocess.Popen], timeout: float = 300) -> list[str]:
    """The workers' outputs once both have exited (both killed after `timeout`)."""
    try:
        for w in workers:
            w.wait(timeout=timeout)
    finally:
        for w in workers:
            w.kill()  # a worker whose peer failed waits for it; never leave one behind
    return [(tmp_path / f"worker{i}-{name}.log").read_text() for i in range(2)]


def run_workers(tmp_path, tfds_dir, name: str, *overrides: str) -> list[str]:
    outputs = finish(tmp_path, name, start_workers(tmp_path, tfds_dir, name, *overrides))
    assert "Done" in outputs[0] and "Done" in outputs[1], outputs[0][-3000:] + outputs[1][-3000:]
    return outputs


def weights(tmp_path, worker: int, name: str) -> list[np.ndarray]:
    return keras.saving.load_model(tmp_path / f"worker{worker}" / name / "model.keras").get_weights()


@pytest.mark.slow
def test_two_workers_train_the_default_experiment_to_the_same_weights(tmp_path, tfds_dir):
    """Whole epochs at the default settings: the steps per compiled call are chosen from each
    worker's timings, and the workers must agree on them (else their collectives wait forever)."""
    run_workers(tmp_path, tfds_dir, "run", "trainer.epochs=3", "stages=[train]")
    for a, b in zip(weights(tmp_path, 0, "run"), weights(tmp_path, 1, "run")):
        np.testing.assert_array_equal(a, b)
    [run] = all_runs(tmp_path)
    assert run.info.status == "FINISHED"
    assert [m.step for m in mlflow_store(tmp_path).get_metric_history(run.info.run_id, "train_loss")] == [1, 2, 3]


@pytest.mark.slow
def test_a_lost_worker_ends_the_other_in_one_line_and_a_resume_gives_the_uninterrupted_weights(tmp_path, tfds_dir):
    """kill -9 one worker mid-run: the other ends by itself (exit 2, one line naming the lost
    worker and `trainer.resume=true`, the run FAILED); both resumed go on from the last checkpoint
    they both hold and end with the weights of a run never interrupted."""
    run = ("trainer.epochs=8", "stages=[train]", "tracking.log_model=false")
    workers = start_workers(tmp_path, tfds_dir, "crashed", *run)
    history, deadline = tmp_path / "worker1" / "crashed" / "history.json", time.monotonic() + 240
    while not (history.exists() and len(json.loads(history.read_text() or "[]")) >= 2):
        assert time.monotonic() < deadline and workers[1].poll() is None, "worker 1 did not train 2 epochs"
        time.sleep(0.05)
    workers[1].send_signal(signal.SIGKILL)
    survivor = finish(tmp_path, "crashed", workers, timeout=180)[0]
    assert workers[0].returncode == 2, survivor[-3000:]
    [line] = [line for line in survivor.splitlines() if "[ERROR]" in line]
    assert "Lost worker /job:worker/replica:0/task:1" in line and "trainer.resume=true" in line, line
    assert "Traceback" not in survivor
    assert [r.info.status for r in all_runs(tmp_path)] == ["FAILED"]

    resumed = run_workers(tmp_path, tfds_dir, "resumed", *run, "trainer.resume=true")
    assert all("Resuming from" in output for output in resumed)
    assert [r.info.status for r in all_runs(tmp_path)] == ["FINISHED"]  # the same run, closed
    run_workers(tmp_path, tfds_dir, "straight", *run)
    for index in range(2):
        for a, b in zip(weights(tmp_path, index, "crashed"), weights(tmp_path, 0, "straight")):
            np.testing.assert_array_equal(a, b)
