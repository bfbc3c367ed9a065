"""Load on the tracking store: a sweep of short jobs, several at a time, against (a) the SQLite file,
(b) `make server` on a SQLite file, (c) `make server` on PostgreSQL (skipped with a note where no
PostgreSQL answers at 127.0.0.1:5432; a database is created for the run and dropped after).

For each store it checks that every child run and the parent FINISHED and counts every epoch's
metric rows (7 per epoch per job), and prints the sweep's wall time and the p50/p95 latency of a
metric write: a writer in this process logs one metric every 0.1 s into its own run of the same
store while the sweep runs, and times each write. Exit code 1 when a check fails.

    python scripts/bench_tracking.py [--jobs 16] [--parallel 4] [--epochs 3] [--stores sqlite,server,postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.tracking.server import scratch_database, tracking_server
from pipeline.tracking.store import TrackingUnavailableError

log = logging.getLogger("bench_tracking")
EPOCH_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_time_s")
EPOCH_METRICS += ("examples_per_s",)
EXPERIMENT = "bench_tracking"
STORES = ("sqlite", "server", "postgres")


@dataclass
class Sweep:
    store: str
    jobs: int
    wall_s: float
    children_finished: int
    parent_finished: bool
    metric_rows: int
    expected_rows: int
    write_latencies_s: list[float]

    @property
    def ok(self) -> bool:
        counts = (self.children_finished, self.metric_rows)
        return self.parent_finished and counts == (self.jobs, self.expected_rows)


def sweep_command(uri: str, jobs: int, parallel: int, epochs: int) -> list[str]:
    """A joblib multirun of `jobs` short LeNet-5 trainings (seeds 0..jobs-1) logging to `uri`."""
    return [
        *(sys.executable, "-m", "pipeline", "-m", "hydra/launcher=joblib", f"hydra.launcher.n_jobs={parallel}"),
        *("debug=tiny", "stages=[train]", f"trainer.epochs={epochs}", f"trainer.seed=range(0,{jobs})"),
        *(f"tracking.uri={uri}", f"tracking.experiment={EXPERIMENT}", "tracking.log_model=false"),
        "tracking.system_metrics_interval_s=null",
    ]


class LatencyProbe(threading.Thread):
    """Logs one metric every `period_s` into its own run of `uri` and times each write."""

    def __init__(self, uri: str, period_s: float = 0.1):
        super().__init__(daemon=True)
        import mlflow

        self.client = mlflow.MlflowClient(uri)
        experiment_id = self.client.create_experiment(f"{EXPERIMENT}_probe")  # each store is new
        self.run_id = self.client.create_run(experiment_id).info.run_id
        self.period_s, self.latencies, self.stopped = period_s, [], threading.Event()

    def run(self) -> None:
        step = 0
        while not self.stopped.wait(self.period_s):
            start = time.perf_counter()
            self.client.log_metric(self.run_id, "probe", float(step), step=step)
            self.latencies.append(time.perf_counter() - start)
            step += 1

    def stop(self) -> list[float]:
        self.stopped.set()
        self.join()
        self.client.set_terminated(self.run_id)
        return self.latencies


def run_sweep(store: str, uri: str, scratch: Path, jobs: int, parallel: int, epochs: int) -> Sweep:
    """The sweep against `uri`, timed and checked."""
    probe = LatencyProbe(uri)
    probe.start()
    start = time.perf_counter()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        sweep_command(uri, jobs, parallel, epochs), cwd=scratch, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    latencies = probe.stop()
    if done.returncode != 0:
        log.error("%s: the sweep failed (exit %d):\n%s", store, done.returncode, (done.stdout + done.stderr)[-3000:])
    return count(store, uri, wall, latencies, jobs, epochs)


def count(store: str, uri: str, wall: float, latencies: list[float], jobs: int, epochs: int) -> Sweep:
    """What the store holds after the sweep: finished runs and every epoch's metric rows."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    parents = [r for r in runs if r.data.tags.get("sweep") == "true"]
    children = [r for r in runs if parents and r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    rows = sum(len(client.get_metric_history(c.info.run_id, m)) for c in children for m in EPOCH_METRICS)
    return Sweep(
        store=store,
        jobs=jobs,
        wall_s=wall,
        children_finished=sum(c.info.status == "FINISHED" for c in children),
        parent_finished=len(parents) == 1 and parents[0].info.status == "FINISHED",
        metric_rows=rows,
        expected_rows=jobs * epochs * len(EPOCH_METRICS),
        write_latencies_s=latencies,
    )


@contextlib.contextmanager
def store_uri(store: str, scratch: Path) -> Iterator[str | None]:
    """The tracking URI of `store`, with its server running while in use."""
    if store == "sqlite":
        yield f"sqlite:///{scratch / 'mlflow.db'}"
        return
    with contextlib.ExitStack() as stack:
        backend = f"sqlite:///{scratch / 'server.db'}"
        if store == "postgres":
            try:
                backend = stack.enter_context(scratch_database(prefix="bench_tracking"))
            except TrackingUnavailableError as error:
                log.warning("postgres: skipped, %s", error)
                yield None
                return
        yield stack.enter_context(tracking_server(backend, scratch / "artifacts", cwd=scratch))


def report(sweeps: list[Sweep], jobs: int, parallel: int) -> None:
    """The table the README and the closing notes quote."""
    print(f"\n{jobs} jobs, {parallel} at a time\n")
    print("| store | wall s | children FINISHED | parent | metric rows | write p50 ms | write p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for s in sweeps:
        p50, p95 = (np.percentile(s.write_latencies_s, q) * 1000 for q in (50, 95))
        parent = "FINISHED" if s.parent_finished else "not finished"
        rows, children = f"{s.metric_rows}/{s.expected_rows}", f"{s.children_finished}/{s.jobs}"
        print(f"| {s.store} | {s.wall_s:.0f} | {children} | {parent} | {rows} | {p50:.1f} | {p95:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--stores", default=",".join(STORES), help=f"comma-separated, of {', '.join(STORES)}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sweeps = []
    for store in args.stores.split(","):
        with tempfile.TemporaryDirectory() as scratch, store_uri(store, Path(scratch)) as uri:
            if uri is None:
                continue
            log.info("%s: %d jobs, %d at a time, into %s", store, args.jobs, args.parallel, uri)
            sweeps.append(run_sweep(store, uri, Path(scratch), args.jobs, args.parallel, args.epochs))
    report(sweeps, args.jobs, args.parallel)
    if not all(s.ok for s in sweeps):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
