"""Everything MLflow: where runs go, their lifecycle (FINISHED, FAILED, KILLED), what they record.

A run is opened by `tracked_run` and closed by it whatever happens: an exception marks it FAILED
with the message as a tag, SIGINT or SIGTERM marks it KILLED. A resumed run reopens the MLflow
run its directory recorded. In a multirun (`pipeline.sweeps`), each job's run is the child of
the sweep's parent run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pipeline.tracking import serving
from pipeline.tracking.liveness import liveness_tags, reap_quietly
from pipeline.tracking.outbox import Outbox, tracker_errors
from pipeline.tracking.store import DEFAULT_URI, probe

log = logging.getLogger(__name__)

RUN_ID_FILE = "mlflow_run_id"  # in a job's output directory: the MLflow run it logs to
PARENT_ID_FILE = "mlflow_parent_run_id"  # in a sweep directory: the sweep's parent run


_outbox: Outbox | None = None  # the active run's, set by tracked_run on the chief


def send(record: Mapping[str, Any]) -> None:
    """A record into the active run through its outbox (nothing on workers other than the chief)."""
    if _outbox is not None:
        _outbox.send(record)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Numbers into the active run."""
    if metrics:
        send({"op": "metrics", "metrics": {k: float(v) for k, v in metrics.items()}, "step": step})


def log_series(series: Mapping[str, Mapping[int, float]]) -> None:
    """Metric histories {name: {step: value}}: one chart per name in the MLflow UI."""
    for name, points in series.items():
        for step, value in points.items():
            log_metrics({name: value}, step=step)


def set_tags(tags: Mapping[str, str]) -> None:
    """Tags on the active run."""
    for key, value in tags.items():
        send({"op": "tag", "key": key, "value": str(value)})


def heartbeat() -> None:
    """The active run is alive (`pipeline.tracking.reap` tells dead runs by a stale heartbeat)."""
    set_tags({"heartbeat": repr(time.time())})


def log_dataset(name: str, split: str, num_examples: int, digest: str, source: Mapping[str, Any]) -> None:
    """A split as an input of the active run (the Datasets column of MLflow's UI): its name, digest,
    the split as the context and its size as a tag. The data is not copied: `source` says how it
    was loaded (`pipeline.data.load`'s arguments)."""
    source = {k: str(v) for k, v in source.items()}
    send({"op": "dataset", "name": name, "split": split, "examples": num_examples, "digest": digest, "source": source})


def log_text(text: str, path: str) -> None:
    send({"op": "text", "text": text, "path": path})


def log_artifacts(local: Path, path: str | None = None) -> None:
    """A file, or a folder's files under `path`, into the active run's artifacts."""
    send({"op": "artifacts", "local": str(Path(local).resolve()), "path": path})


def log_model(model_file: Path, x_example: Any, registered_name: str | None, alias: str | None = None) -> None:
    """The saved model as a logged model of the active run (see `pipeline.tracking.serving`), with its input
    example (kept beside it as `input_example.npy`); registered under `registered_name`, with
    `alias` pointing at the new version, when given."""
    import numpy as np

    if _outbox is None:
        return
    example = Path(model_file).with_name("input_example.npy")
    np.save(example, np.asarray(x_example), allow_pickle=False)
    send(
        {
            "op": "model",
            "file": str(Path(model_file).resolve()),
            "example": str(example.resolve()),
            "registered_name": registered_name,
            "alias": alias,
        }
    )


def load_logged_model(run_id: str) -> Any:
    """The Keras model a run logged (Keras safe mode: no code in the file runs)."""
    import mlflow

    serving.register_custom_objects()
    return mlflow.keras.load_model(f"runs:/{run_id}/{serving.MODEL_NAME}")


def load_logged_text(uri: str, run_id: str, path: str) -> str:
    """A text artifact of a run in the store at `uri`."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.artifacts.load_text(f"runs:/{run_id}/{path}")


def tracking_uri(cfg: DictConfig) -> str:
    """`tracking.uri`, else $MLFLOW_TRACKING_URI, else a SQLite file where the user runs."""
    return cfg.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def experiment_id(name: str) -> str:
    """The experiment's id, created (and tagged as model development) if it does not exist."""
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(name, tags={"mlflow.experimentKind": "custom_model_development"})


def ui_link(uri: str, experiment: str) -> str:
    """Where to look: the MLflow UI's model-training view of this experiment (a server's own UI)."""
    view = f"#/experiments/{experiment}/runs?workflowType=machine_learning"
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/{view}"
    return f"make ui  (mlflow ui --backend-store-uri {uri}), then http://127.0.0.1:5000/{view}"


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"trainer": {"epochs": 3}} -> {"trainer.epochs": 3}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
        return done.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class _Killed(Exception):
    """SIGTERM, turned into an exception so the run can be closed as KILLED."""


@contextlib.contextmanager
def _terminate_as_exception() -> Iterator[list[str]]:
    """SIGTERM raises `_Killed`; the yielded list records it, since library code may wrap the exception."""
    received: list[str] = []

    def handler(signum, frame):
        received.append(f"killed by signal {signal.Signals(signum).name}")
        raise _Killed(received[-1])

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. a joblib worker thread): leave signals alone
        yield received
        return
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _end_interrupted(error: BaseException, received: list[str]) -> None:
    """Close the active run after `error`: KILLED when a signal or Ctrl-C caused it, else FAILED."""
    if received or isinstance(error, (KeyboardInterrupt, _Killed)):
        send({"op": "tag", "key": "error", "value": received[0] if received else str(error) or "interrupted"})
        _end("KILLED")
    else:
        send({"op": "tag", "key": "error", "value": f"{type(error).__name__}: {error}"[:5000]})
        _end("FAILED")


def _end(status: str) -> None:
    """The run's final status through the outbox (a last delivery of what waits is tried first);
    the run is then no longer active in this process, delivered or not."""
    import mlflow

    global _outbox
    if _outbox.pending:
        _outbox.flush(probe_timeout_s=5.0)
    _outbox.send({"op": "end", "status": status})
    if _outbox.pending:
        log.warning(
            "MLflow run %s: %d records could not be delivered; they wait in %s. Deliver them with "
            "`python -m pipeline.tracking.sync %s` once %s answers.",
            _outbox.run_id,
            _outbox.pending,
            _outbox.path,
            _outbox.path.parent,
            _outbox.uri,
        )
    _outbox = None
    _forget_active_run(mlflow)


def _forget_active_run(mlflow: Any) -> None:
    """Drop the fluent API's active run without asking the store (its status went through the
    outbox), and stop its system-metrics sampler. MLflow has no public call for this."""
    from mlflow.tracking import fluent

    stack = fluent._active_run_stack.get()
    run = stack.pop() if stack else None
    monitor = fluent.run_id_to_system_metrics_monitor.pop(run.info.run_id, None) if run else None
    if monitor is not None:
        with contextlib.suppress(*tracker_errors()):
            monitor.finish()


@contextlib.contextmanager
def tracked_run(cfg: DictConfig, output_dir: Path, overrides: list[str], chief: bool = True) -> Iterator[Any]:
    """An active MLflow run for this job, closed with the right status whatever happens.

    Yields the `mlflow.ActiveRun`, or None on non-chief workers (only the chief logs).
    """
    if not chief:
        yield None
        return
    import mlflow

    uri = tracking_uri(cfg)
    probe(uri, cfg.tracking.probe_timeout_s)
    mlflow.set_tracking_uri(uri)
    experiment = experiment_id(cfg.tracking.experiment)
    run_id_file = output_dir / RUN_ID_FILE
    resumed = run_id_file.read_text().strip() if run_id_file.exists() else None
    commit = git_commit()
    tags = {"git_commit": commit, "overrides": " ".join(overrides) or "(none)", **liveness_tags(output_dir)}
    tags["mlflow.note.content"] = reproduce_note(commit, overrides)  # the run's description in the UI
    parent = _parent_run_id()
    if parent:
        tags["mlflow.parentRunId"] = parent
    name = cfg.tracking.run_name or f"{cfg.model.name}-{cfg.dataset.name}-{cfg.layers.impl}"
    interval = cfg.tracking.system_metrics_interval_s
    if interval:
        mlflow.system_metrics.set_system_metrics_sampling_interval(interval)
        mlflow.system_metrics.set_system_metrics_samples_before_logging(1)
    reap_quietly(uri, experiment, cfg.tracking.heartbeat_stale_s)  # runs whose process died
    with _terminate_as_exception() as received:
        run = mlflow.start_run(
            run_id=resumed,
            experiment_id=None if resumed else experiment,
            run_name=None if resumed else name,
            tags=tags,
            log_system_metrics=bool(interval),
        )
        run_id_file.write_text(run.info.run_id)
        if resumed:
            clear_error(mlflow.MlflowClient(), resumed)
        global _outbox
        _outbox = Outbox(uri, run.info.run_id, output_dir)
        try:
            if not resumed:
                send({"op": "params", "params": flatten(OmegaConf.to_container(cfg, resolve=True))})
            yield run
        except BaseException as error:
            _end_interrupted(error, received)
            raise
        _end("FINISHED")
    log.info("MLflow run %s (%s) in %s. To look: %s", run.info.run_id, name, uri, ui_link(uri, experiment))


def clear_error(client: Any, run_id: str) -> None:
    """A reopened run drops the `error` tag of how it ended before."""
    with contextlib.suppress(*tracker_errors()):
        if "error" in client.get_run(run_id).data.tags:
            client.delete_tag(run_id, "error")


def same_command(overrides: list[str]) -> list[str]:
    """The overrides that say what a run or a sweep computes: all but `sweep_resume`, which only
    says how a crashed sweep was continued."""
    return [o for o in overrides if o.split("=")[0].lstrip("+~") != "sweep_resume"]


def reproduce_note(commit: str, overrides: list[str]) -> str:
    """The run's description: the command that trains it again, at the code it ran."""
    command = " ".join(["python -m pipeline", *(shlex.quote(o) for o in same_command(overrides))])
    return f"Reproduce (in a checkout of the project):\n\n    git checkout {commit}\n    {command}\n"


def _parent_run_id() -> str | None:
    """The sweep's parent run, when this job is part of a multirun."""
    try:
        from hydra.core.hydra_config import HydraConfig

        hydra_cfg = HydraConfig.get()
    except ValueError:
        return None
    if hydra_cfg.mode.name != "MULTIRUN":
        return None
    parent_file = Path(hydra_cfg.sweep.dir) / PARENT_ID_FILE
    return parent_file.read_text().strip() if parent_file.exists() else None
