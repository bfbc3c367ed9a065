"""pipeline.tracking.reap: RUNNING runs whose process died are marked KILLED; live ones, runs from other
hosts with a fresh heartbeat, runs whose records wait for pipeline.tracking.sync and runs without a
heartbeat are left alone."""

import os
import re
import subprocess
import sys
import time

import psutil
import pytest
from mlflow import MlflowClient

from pipeline.tracking.liveness import liveness_tags, mark_dead_runs, why_dead
from pipeline.tracking.outbox import OUTBOX_FILE
from tests.cli import REPO


@pytest.fixture
def client(tmp_path):
    return MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")


def dead_pid() -> int:
    """The pid of a process that has exited (and been waited for)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def running(client, experiment: str, **tags: str) -> str:
    run = client.create_run(experiment, tags=tags)
    return run.info.run_id


def test_liveness_tags_describe_this_process(tmp_path):
    tags = liveness_tags(tmp_path)
    assert tags["pid"] == str(os.getpid())
    assert float(tags["pid_started"]) == pytest.approx(psutil.Process().create_time())
    assert abs(float(tags["heartbeat"]) - time.time()) < 5
    assert tags["run_dir"] == str(tmp_path.resolve())
    assert why_dead(tags, time.time(), 3600) is None  # this process is alive


def test_reap_kills_exactly_the_dead_runs(client, tmp_path):
    experiment = client.create_experiment("e")
    me = liveness_tags()
    now = time.time()
    gone = {**me, "pid": str(dead_pid())}
    waiting_dir = tmp_path / "waiting"
    waiting_dir.mkdir()
    (waiting_dir / OUTBOX_FILE).write_text('{"op": "end", "status": "FINISHED"}\n')
    elsewhere = {**me, "host": "another-host", "pid": "1"}
    runs = {
        "dead": running(client, experiment, **gone),
        "pid reused": running(client, experiment, **{**me, "pid_started": repr(float(me["pid_started"]) - 100)}),
        "alive": running(client, experiment, **me),
        "records wait": running(client, experiment, **gone, run_dir=str(waiting_dir)),
        "no heartbeat": running(client, experiment, host=me["host"], pid=gone["pid"]),
        "other host, stale": running(client, experiment, **{**elsewhere, "heartbeat": repr(now - 7200)}),
        "other host, fresh": running(client, experiment, **{**elsewhere, "heartbeat": repr(now - 60)}),
        "other host's sweep": running(client, experiment, **{**elsewhere, "heartbeat": repr(now - 7200)}, sweep="true"),
    }
    finished = running(client, experiment, **gone)
    client.set_terminated(finished, "FINISHED")

    reaped = mark_dead_runs(client, [experiment], stale_s=3600)

    assert sorted(reaped) == sorted(runs[k] for k in ("dead", "pid reused", "other host, stale"))
    status = {name: client.get_run(run_id).info.status for name, run_id in runs.items()}
    assert status == {name: "KILLED" if runs[name] in reaped else "RUNNING" for name in runs}
    assert client.get_run(finished).info.status == "FINISHED"
    assert "is gone" in client.get_run(runs["dead"]).data.tags["error"]
    # 7200 s when reaped within the second the heartbeats were written; a busy machine adds a second or two
    assert re.search(
        r"no heartbeat from another-host for 720\d s", client.get_run(runs["other host, stale"]).data.tags["error"]
    )


@pytest.mark.slow  # a process that imports MLflow
def test_the_command_line_reaps_and_refuses_unknown_experiments(client, tmp_path):
    experiment = client.create_experiment("e")
    dead = running(client, experiment, **{**liveness_tags(), "pid": str(dead_pid())})
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    command = [sys.executable, "-m", "pipeline.tracking.reap", "--tracking-uri", uri]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 dead run(s) marked KILLED" in done.stderr
    assert client.get_run(dead).info.status == "KILLED"
    done = subprocess.run([*command, "--experiment", "nope"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"{uri} has no experiment named 'nope'"
