"""Multiruns: one MLflow parent run per sweep, a child run per job, and crashed sweeps resumed.

`SweepCallback` (a Hydra callback, named in `conf/config.yaml`) opens the parent run before the
jobs fan out; each job's run names it as its parent (`pipeline.tracking`). A sweep that crashed
halfway continues with the same command plus `sweep_resume=true`: the callback points Hydra at
the newest earlier sweep directory of the same command, reopens its parent run, and each job
whose run FINISHED is skipped (its recorded metrics answer the sweeper) while the others resume
from their checkpoints into their own runs. Optuna sweeps keep their study in memory: they are
not resumable, and `sweep_resume=true` with them is refused.
"""

from __future__ import annotations

import atexit
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from pipeline.errors import UserError
from pipeline.sweeps import plot
from pipeline.tracking import (
    PARENT_ID_FILE,
    RUN_ID_FILE,
    clear_error,
    experiment_id,
    git_commit,
    liveness_tags,
    mark_dead_runs,
    probe,
    same_command,
    tracking_uri,
)

log = logging.getLogger("pipeline")

SWEEP_CONFIG = "multirun.yaml"  # Hydra's record of a sweep, in its directory


def earlier_sweep(fresh_dir: Path, overrides: list[str]) -> Path | None:
    """The newest sweep directory beside `fresh_dir` that the same command started."""
    wanted = same_command(overrides)
    candidates = [p.parent for p in fresh_dir.parent.glob(f"*/{PARENT_ID_FILE}") if p.parent != fresh_dir]
    for folder in sorted(candidates, key=lambda p: (p / PARENT_ID_FILE).stat().st_mtime, reverse=True):
        saved = folder / SWEEP_CONFIG
        if saved.exists() and same_command(list(OmegaConf.load(saved).hydra.overrides.task)) == wanted:
            return folder
    return None


def finished_job_metrics(cfg: DictConfig, folder: Path) -> dict[str, float] | None:
    """The metrics of the run `folder` recorded, when that run FINISHED (the job needs no rerun)."""
    import mlflow

    run_id_file = folder / RUN_ID_FILE
    if not run_id_file.exists():
        return None
    uri = tracking_uri(cfg)
    probe(uri, cfg.tracking.probe_timeout_s)
    run = mlflow.MlflowClient(uri).get_run(run_id_file.read_text().strip())
    return dict(run.data.metrics) if run.info.status == "FINISHED" else None


def _resume_earlier(config: DictConfig) -> None:
    """Point this multirun, and every job Hydra composes for it, at the earlier sweep's directory."""
    if "optuna" in str(config.hydra.sweeper.get("_target_", "")):
        raise UserError("sweep_resume=true: an Optuna sweep keeps its study in memory and cannot resume; rerun it")
    earlier = earlier_sweep(Path(config.hydra.sweep.dir), list(config.hydra.overrides.task))
    if earlier is None:
        log.info("sweep_resume=true: no earlier sweep of this command in %s; starting one", config.hydra.sweep.dir)
        return
    log.info("sweep_resume=true: continuing the sweep in %s", earlier)
    with read_write(config.hydra):
        config.hydra.sweep.dir = str(earlier)
        # Jobs are composed again from these overrides: they land in the same directory.
        config.hydra.overrides.hydra.append(f"hydra.sweep.dir={earlier}")


def _parent_run(client: Any, config: DictConfig, sweep_dir: Path) -> str:
    """The sweep's parent run: the one its directory recorded when resuming, else a new one."""
    parent_file = sweep_dir / PARENT_ID_FILE
    tags = {"sweep": "true", "git_commit": git_commit(), **liveness_tags()}
    if config.sweep_resume and parent_file.exists():
        parent = parent_file.read_text().strip()
        for key, value in tags.items():
            client.set_tag(parent, key, value)
        client.update_run(parent, status="RUNNING")
        clear_error(client, parent)
        return parent
    tags["overrides"] = " ".join(config.hydra.overrides.task)
    run = client.create_run(experiment_id(config.tracking.experiment), run_name=f"sweep-{sweep_dir.name}", tags=tags)
    parent_file.write_text(run.info.run_id)
    return run.info.run_id


def _close_if_running(uri: str, run_id: str) -> None:
    import mlflow

    client = mlflow.MlflowClient(uri)
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_tag(run_id, "error", "the sweep ended before all jobs finished")
        client.set_terminated(run_id, "FAILED")


def _check_writable(folder: str) -> None:
    """Exit with one line (code 2) when an output folder cannot be created or written."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        probe_file = Path(folder) / ".write_test"
        probe_file.write_text("")
        probe_file.unlink()
    except OSError as error:
        log.error("Cannot write the output directory %s: %s", folder, error.strerror or error)
        raise SystemExit(2) from None


def _exit_on_user_error(action, config: DictConfig) -> None:
    try:
        action(config)
    except UserError as error:
        log.error("%s", error)
        raise SystemExit(2) from None


class SweepCallback(Callback):
    """Hydra callback: checks the output folder before Hydra uses it; one MLflow parent run around
    a multirun, whose jobs become its children; `sweep_resume=true` continues a crashed sweep."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.sweep_resume:
            log.error("sweep_resume=true continues a multirun: add -m (one run resumes with trainer.resume=true)")
            raise SystemExit(2)
        _check_writable(config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _exit_on_user_error(self._start, config)

    def _start(self, config: DictConfig) -> None:
        import mlflow

        uri = tracking_uri(config)
        probe(uri, config.tracking.probe_timeout_s)
        if config.sweep_resume:
            _resume_earlier(config)
        _check_writable(config.hydra.sweep.dir)
        mlflow.set_tracking_uri(uri)
        client = mlflow.MlflowClient()
        experiment = experiment_id(config.tracking.experiment)
        mark_dead_runs(client, [experiment], config.tracking.heartbeat_stale_s)  # a crashed sweep's runs
        # Created before the jobs fan out: concurrent jobs then never race to create it.
        parent = _parent_run(client, config, Path(config.hydra.sweep.dir))
        # A failing job ends the sweep without on_multirun_end; never leave the parent RUNNING.
        atexit.register(_close_if_running, uri, parent)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        import mlflow

        parent_file = Path(config.hydra.sweep.dir) / PARENT_ID_FILE
        if not parent_file.exists():
            return
        mlflow.set_tracking_uri(tracking_uri(config))
        client = mlflow.MlflowClient()
        parent = parent_file.read_text().strip()
        children = client.search_runs(
            [client.get_run(parent).info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
        )
        if config.sweep_plot.x:
            plot.publish(client, parent, children, config.sweep_plot, parent_file.parent)
        failed = [c for c in children if c.info.status != "FINISHED"]
        client.set_terminated(parent, "FAILED" if failed or not children else "FINISHED")
