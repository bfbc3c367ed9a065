"""Two CPU worker processes on 127.0.0.1 train one model together (MultiWorkerMirroredStrategy):
whole epochs at the default settings, both end with identical weights, and only the chief records
an MLflow run."""

import json
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

import pipeline.models  # noqa: F401  (registers the custom layers for loading)
from tests.cli import all_runs, cli_env, mlflow_store


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(tmp_path, tfds_dir, *overrides: str, timeout: float = 300) -> list[str]:
    """`python -m pipeline trainer.strategy=multi_worker *overrides` as two workers of one
    cluster on 127.0.0.1; their outputs, once both have exited (both killed after `timeout`)."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = cli_env(tfds_dir, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        command = [sys.executable, "-m", "pipeline", "trainer.strategy=multi_worker", *overrides]
        with open(tmp_path / f"worker{index}.log", "w") as log:  # files, not pipes: a full pipe would block a worker
            command.append(f"hydra.run.dir=worker{index}")
            workers.append(subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        for w in workers:
            w.wait(timeout=timeout)
    finally:
        for w in workers:
            w.kill()  # a worker whose peer failed waits for it; never leave one behind
    outputs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    return outputs


@pytest.mark.slow
def test_two_workers_train_the_default_experiment_to_the_same_weights(tmp_path, tfds_dir):
    """Whole epochs at the default settings: the steps per compiled call are chosen from each
    worker's timings, and the workers must agree on them (else their collectives wait forever)."""
    run_workers(tmp_path, tfds_dir, "trainer.epochs=3", "stages=[train]")
    first, second = (keras.saving.load_model(tmp_path / f"worker{i}" / "model.keras").get_weights() for i in range(2))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    [run] = all_runs(tmp_path)
    assert run.info.status == "FINISHED"
    assert [m.step for m in mlflow_store(tmp_path).get_metric_history(run.info.run_id, "train_loss")] == [1, 2, 3]
