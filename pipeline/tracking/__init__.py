"""Everything MLflow, one module per job:

- `run`: where runs go and their lifecycle (FINISHED, FAILED, KILLED), what they record; the
  functions below are the ones stages call;
- `outbox` and `sync`: records that wait in a run directory while the store is away, and the
  command that delivers them (`python -m pipeline.tracking.sync <run dir>`);
- `liveness` and `reap`: runs left RUNNING by a dead process, marked KILLED (`python -m pipeline.tracking.reap`);
- `store`: the default store and the probe that fails fast when a store does not answer;
- `server`: an MLflow server for a team (`python -m pipeline.tracking.server`);
- `serving`: the logged-model flavour MLflow loads and serves without the project imported first.
"""

from pipeline.tracking.liveness import liveness_tags, mark_dead_runs
from pipeline.tracking.run import (
    PARENT_ID_FILE,
    RUN_ID_FILE,
    clear_error,
    experiment_id,
    flatten,
    git_commit,
    heartbeat,
    load_logged_model,
    load_logged_text,
    log_artifacts,
    log_dataset,
    log_metrics,
    log_model,
    log_series,
    log_text,
    reproduce_note,
    same_command,
    send,
    set_tags,
    tracked_run,
    tracking_uri,
    ui_link,
)
from pipeline.tracking.store import DEFAULT_URI, TrackingUnavailableError, probe

__all__ = [
    "DEFAULT_URI",
    "PARENT_ID_FILE",
    "RUN_ID_FILE",
    "TrackingUnavailableError",
    "clear_error",
    "experiment_id",
    "flatten",
    "git_commit",
    "heartbeat",
    "liveness_tags",
    "load_logged_model",
    "load_logged_text",
    "log_artifacts",
    "log_dataset",
    "log_metrics",
    "log_model",
    "log_series",
    "log_text",
    "probe",
    "mark_dead_runs",
    "reproduce_note",
    "same_command",
    "send",
    "set_tags",
    "tracked_run",
    "tracking_uri",
    "ui_link",
]
