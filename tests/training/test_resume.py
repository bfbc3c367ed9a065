"""Crash safety: kill -9 mid-run and resume to the same weights; SIGTERM marks the run KILLED."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import pipeline.models  # noqa: F401  (registers the custom layers for loading)
from tests.cli import all_runs, cli_env

RUN = ("trainer.epochs=4", "tracking.log_model=false", "tracking.experiment=resume", "stages=[train]")


def start(tmp_path: Path, tfds_dir: str, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *overrides],
        cwd=tmp_path,
        env=cli_env(tfds_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_epochs(tmp_path: Path, count: int, process: subprocess.Popen, timeout: float = 240) -> Path:
    """The run directory once its history holds `count` epochs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for history in tmp_path.glob("outputs/*/*/history.json"):
            try:
                if len(json.loads(history.read_text())) >= count:
                    return history.parent
            except json.JSONDecodeError:
                pass  # being written
        assert process.poll() is None, process.stdout.read()[-3000:]
        time.sleep(0.2)
    raise TimeoutError(f"no run reached {count} epochs")


def final_weights(run_dir: Path) -> list[np.ndarray]:
    return keras.saving.load_model(run_dir / "model.keras").get_weights()


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_uninterrupted_weights(cli, tmp_path, tfds_dir):
    process = start(tmp_path, tfds_dir, *RUN)
    crashed = wait_for_epochs(tmp_path, 2, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    run_id = (crashed / "mlflow_run_id").read_text()
    assert [r.info.status for r in all_runs(tmp_path)] == ["RUNNING"]  # kill -9: nothing could close it

    resumed = cli(*RUN, "trainer.resume=true")
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert f"Resuming from {crashed}" in resumed.stdout
    history = json.loads((crashed / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    [run] = all_runs(tmp_path)
    assert run.info.run_id == run_id and run.info.status == "FINISHED"  # the same run, closed

    time.sleep(1.1)  # a new timestamped output directory
    straight = cli(*RUN)
    assert straight.returncode == 0, straight.stdout[-3000:]
    fresh = sorted(tmp_path.glob("outputs/*/*/model.keras"))[-1].parent
    assert fresh != crashed
    for resumed_w, straight_w in zip(final_weights(crashed), final_weights(fresh)):
        np.testing.assert_array_equal(resumed_w, straight_w)


@pytest.mark.slow
def test_sigterm_marks_the_run_killed(tmp_path, tfds_dir):
    process = start(tmp_path, tfds_dir, "trainer.epochs=50", "tracking.experiment=killed")
    wait_for_epochs(tmp_path, 1, process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) != 0
    [run] = all_runs(tmp_path)
    assert run.info.status == "KILLED" and "SIGTERM" in run.data.tags["error"]
