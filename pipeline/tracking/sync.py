"""`python -m pipeline.tracking.sync <run dir>`: deliver what a run could not log to its tracking store.

A run whose tracking store stopped answering keeps the records it could not deliver in
`<run dir>/mlflow_outbox.jsonl` (see `pipeline.tracking.outbox`). Once the store answers again, this sends
them, in order, to the same MLflow run: metrics with their original steps and times, figures, the
model, and last the run's final status. Exit code 0 when nothing waits any more, 2 (one line) when
the store still does not answer or the directory holds no run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline.tracking.outbox import OUTBOX_FILE, Outbox
from pipeline.tracking.run import RUN_ID_FILE
from pipeline.tracking.store import TrackingUnavailableError, probe

log = logging.getLogger("pipeline.tracking.sync")


def deliver_outbox(run_dir: Path, uri: str) -> int:
    """Deliver the waiting records of `run_dir` to `uri`; how many were delivered."""
    import mlflow

    if not (run_dir / RUN_ID_FILE).exists():
        raise TrackingUnavailableError(f"{run_dir} holds no MLflow run ({RUN_ID_FILE} is missing)")
    outbox = Outbox(uri, (run_dir / RUN_ID_FILE).read_text().strip(), run_dir)
    waiting = outbox.pending
    if not waiting:
        return 0
    probe(uri, timeout_s=10)
    mlflow.set_tracking_uri(uri)  # a logged model is logged through the fluent API's store
    if not outbox.flush(probe_timeout_s=10):
        raise TrackingUnavailableError(f"MLflow at {uri} refused the records; {outbox.pending} still wait")
    return waiting


def recorded_uri(run_dir: Path) -> str:
    """The tracking URI the run logged to (the first waiting record names it)."""
    import json

    with (run_dir / OUTBOX_FILE).open() as queue:
        return json.loads(queue.readline())["uri"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--tracking-uri", help="where to deliver; default: the store the run logged to")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if not args.run_dir.is_dir():
            raise TrackingUnavailableError(f"{args.run_dir} is not a run directory (outputs/<name>/<time>)")
        if not (args.run_dir / OUTBOX_FILE).exists():
            log.info("%s: nothing waits for delivery", args.run_dir)
            return
        uri = args.tracking_uri or recorded_uri(args.run_dir)
        delivered = deliver_outbox(args.run_dir, uri)
    except TrackingUnavailableError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    log.info("%s: delivered %d records to %s", args.run_dir, delivered, uri)


if __name__ == "__main__":
    main()
