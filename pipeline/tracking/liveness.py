"""Is a RUNNING run's process alive? Runs left RUNNING by a process that died without a word
(kill -9, a lost node) are marked KILLED.

A run says who runs it (tags `host`, `pid`, `pid_started`) and that it is alive (`heartbeat`,
seconds since the epoch, written when it starts and after every epoch). A RUNNING run is dead
when, on this host, its process is gone (or its pid now belongs to another process), and, from
another host, when its heartbeat is older than `tracking.heartbeat_stale_s` (a sweep's parent run
writes no heartbeat: only its host judges it). A run whose records still wait in its run
directory for `pipeline.tracking.sync` is left alone: its final status is among them. Runs
without a heartbeat (older runs, other tools') are never touched. Every run of the pipeline
reaps its experiment before it starts; `python -m pipeline.tracking.reap` does it by hand.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.config import TrackingConfig
from pipeline.tracking.outbox import OUTBOX_FILE, tracker_errors

log = logging.getLogger(__name__)

DEFAULT_STALE_S = TrackingConfig.heartbeat_stale_s  # the config's default, for the command line
STARTED_TOLERANCE_S = 1.0  # a process's start time, as recorded and as read back


def liveness_tags(run_dir: Path | None = None) -> dict[str, str]:
    """Who runs this run, and a first heartbeat."""
    import psutil

    tags = {
        "host": socket.gethostname(),
        "pid": str(os.getpid()),
        "pid_started": repr(psutil.Process().create_time()),
        "heartbeat": repr(time.time()),
    }
    if run_dir is not None:
        tags["run_dir"] = str(Path(run_dir).resolve())
    return tags


def why_dead(tags: dict[str, str], now: float, stale_s: float, host: str | None = None) -> str | None:
    """Why the RUNNING run with these tags has no live process, or None when it may be alive."""
    if "heartbeat" not in tags or "pid" not in tags:
        return None
    if tags.get("host") == (host or socket.gethostname()):
        if _alive(int(tags["pid"]), float(tags.get("pid_started", "nan"))):
            return None
        if _records_wait(tags.get("run_dir")):
            return None
        return f"its process {tags['pid']} on {tags['host']} is gone"
    if tags.get("sweep") == "true":
        return None
    silent = now - float(tags["heartbeat"])
    return f"no heartbeat from {tags.get('host')} for {silent:.0f} s" if silent > stale_s else None


def _alive(pid: int, started: float) -> bool:
    """The process `pid` exists, runs, and is the one that started at `started`."""
    import psutil

    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and abs(process.create_time() - started) < STARTED_TOLERANCE_S
    except psutil.Error:
        return False


def _records_wait(run_dir: str | None) -> bool:
    return bool(run_dir) and (Path(run_dir) / OUTBOX_FILE).exists()


def mark_dead_runs(client: Any, experiment_ids: Iterable[str], stale_s: float = DEFAULT_STALE_S) -> list[str]:
    """Mark the dead RUNNING runs of these experiments KILLED, with the reason as the `error` tag;
    returns their ids."""
    reaped = []
    now = time.time()
    running = client.search_runs(list(experiment_ids), filter_string="attributes.status = 'RUNNING'")
    for run in running:
        reason = why_dead(run.data.tags, now, stale_s)
        if reason is None:
            continue
        client.set_tag(run.info.run_id, "error", f"marked KILLED by pipeline.tracking.reap: {reason}")
        client.set_terminated(run.info.run_id, "KILLED")
        log.warning(
            "MLflow run %s (%s) was left RUNNING, but %s: marked KILLED", run.info.run_id, run.info.run_name, reason
        )
        reaped.append(run.info.run_id)
    return reaped


def reap_quietly(uri: str, experiment_id: str, stale_s: float) -> None:
    """`reap` before a run starts: a store that refuses is the run's problem, not the reaper's."""
    import mlflow

    try:
        mark_dead_runs(mlflow.MlflowClient(uri), [experiment_id], stale_s)
    except tracker_errors() as error:
        log.warning("Could not look for dead runs in %s: %s", uri, error)
