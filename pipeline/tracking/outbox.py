"""What the tracking store could not take, kept in the run directory until it can.

Every record a run logs (metrics, tags, texts, figures, the dataset inputs, the model, the final
status) goes through the run's `Outbox`. While the store takes them, they are delivered at once.
When one fails (a server down for longer than MLflow's own retries, a database gone), it is
appended to `<run dir>/mlflow_outbox.jsonl` and training goes on; the records after it queue
behind it, so their order is kept. A delivery of the queue is tried at most every `RETRY_S`
seconds, after a quick probe of the store; what is still queued when the process ends is
delivered by `python -m pipeline.tracking.sync <run dir>`. Records keep their own timestamps, so the charts
of a run delivered late look like those of a run delivered live.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.tracking import serving
from pipeline.tracking.store import TrackingUnavailableError, probe

log = logging.getLogger(__name__)

OUTBOX_FILE = "mlflow_outbox.jsonl"
RETRY_S = 10.0  # how often a queue is offered to the store again


def tracker_errors() -> tuple[type[BaseException], ...]:
    """What a store that is down or gone raises (requests' errors are OSErrors)."""
    import sqlalchemy.exc
    from mlflow.exceptions import MlflowException

    return MlflowException, OSError, sqlalchemy.exc.SQLAlchemyError


class Outbox:
    """The records of run `run_id` in the store at `uri`, delivered in order, queued in `run_dir`."""

    def __init__(self, uri: str, run_id: str, run_dir: Path):
        self.uri, self.run_id, self.path = uri, run_id, Path(run_dir) / OUTBOX_FILE
        self.last_try = time.monotonic()

    @property
    def pending(self) -> int:
        """Records waiting for the store."""
        return len(self._queued())

    def send(self, record: Mapping[str, Any]) -> None:
        """Deliver `record` now, or queue it (behind what already waits) when the store fails."""
        record = {"time_ms": int(time.time() * 1000), **record}
        if not self.path.exists():
            try:
                deliver(self.uri, self.run_id, record)
                return
            except tracker_errors() as error:
                log.warning(
                    "MLflow at %s did not take a record (%s): training goes on, and what it cannot take "
                    "waits in %s, delivered when it answers again or by `python -m pipeline.tracking.sync %s`.",
                    self.uri,
                    _one_line(error),
                    self.path,
                    self.path.parent,
                )
                self.last_try = time.monotonic()
        with self.path.open("a") as queue:
            queue.write(
                json.dumps({**record, "uri": self.uri}) + "\n"
            )  # the store `pipeline.tracking.sync` delivers to
        if time.monotonic() - self.last_try > RETRY_S:
            self.flush()

    def flush(self, probe_timeout_s: float = 2.0) -> bool:
        """Offer the queue to the store, in order; True once nothing waits. A store that does not
        answer a quick probe is not offered anything (MLflow's retries would block training)."""

        self.last_try = time.monotonic()
        queued = self._queued()
        if not queued:
            return True
        try:
            probe(self.uri, probe_timeout_s)
        except TrackingUnavailableError:
            return False
        for index, record in enumerate(queued):
            try:
                deliver(self.uri, self.run_id, record)
            except tracker_errors() as error:
                log.warning("MLflow at %s still fails (%s): %d records wait", self.uri, _one_line(error), len(queued))
                self._rewrite(queued[index:])
                return False
        self.path.unlink()
        log.info("Delivered %d waiting records to MLflow run %s at %s", len(queued), self.run_id, self.uri)
        return True

    def _queued(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def _rewrite(self, records: list[dict]) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text("".join(json.dumps(r) + "\n" for r in records))
        temporary.replace(self.path)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}"


def deliver(uri: str, run_id: str, record: Mapping[str, Any]) -> None:
    """One record into run `run_id` of the store at `uri`."""
    import mlflow

    _DELIVERIES[record["op"]](mlflow.MlflowClient(uri), run_id, record)


def _metrics(client: Any, run_id: str, record: Mapping[str, Any]) -> None:
    from mlflow.entities import Metric

    step, stamp = record.get("step") or 0, record["time_ms"]
    client.log_batch(run_id, metrics=[Metric(k, float(v), stamp, step) for k, v in record["metrics"].items()])


def _params(client: Any, run_id: str, record: Mapping[str, Any]) -> None:
    from mlflow.entities import Param

    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in record["params"].items()])


def _artifacts(client: Any, run_id: str, record: Mapping[str, Any]) -> None:
    if Path(record["local"]).is_dir():
        client.log_artifacts(run_id, record["local"], record.get("path"))
    else:
        client.log_artifact(run_id, record["local"], record.get("path"))


def _dataset(client: Any, run_id: str, record: Mapping[str, Any]) -> None:
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    dataset = MetaDataset(CodeDatasetSource(record["source"]), name=record["name"], digest=record["digest"])
    tags = [InputTag(MLFLOW_DATASET_CONTEXT, record["split"]), InputTag("examples", str(record["examples"]))]
    client.log_inputs(run_id, datasets=[DatasetInput(dataset._to_mlflow_entity(), tags)])


def _model(client: Any, run_id: str, record: Mapping[str, Any]) -> None:

    serving.log_saved_model(client, run_id, record)


_DELIVERIES: dict[str, Callable[[Any, str, Mapping[str, Any]], None]] = {
    "metrics": _metrics,
    "params": _params,
    "tag": lambda client, run_id, r: client.set_tag(run_id, r["key"], r["value"]),
    "text": lambda client, run_id, r: client.log_text(run_id, r["text"], r["path"]),
    "artifacts": _artifacts,
    "dataset": _dataset,
    "model": _model,
    "end": lambda client, run_id, r: client.set_terminated(run_id, r["status"], end_time=r["time_ms"]),
}
