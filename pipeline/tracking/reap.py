"""`python -m pipeline.tracking.reap` (or `make reap`): runs left RUNNING by a process that died
without a word (kill -9, a lost node), marked KILLED (`pipeline.tracking.liveness` says how a run
is judged dead). Every run of the pipeline does this for its experiment before it starts.

    python -m pipeline.tracking.reap [--tracking-uri URI] [--experiment NAME] [--stale-after S]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pipeline.tracking.liveness import DEFAULT_STALE_S, mark_dead_runs
from pipeline.tracking.store import DEFAULT_URI, TrackingUnavailableError, probe

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    import mlflow

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_URI))
    parser.add_argument("--experiment", help="only this experiment (default: every experiment)")
    parser.add_argument("--stale-after", type=float, default=DEFAULT_STALE_S, help="seconds without a heartbeat")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        probe(args.tracking_uri, timeout_s=10)
        client = mlflow.MlflowClient(args.tracking_uri)
        experiments = [e for e in client.search_experiments() if args.experiment in (None, e.name)]
        if args.experiment and not experiments:
            raise TrackingUnavailableError(f"{args.tracking_uri} has no experiment named {args.experiment!r}")
        reaped = mark_dead_runs(client, [e.experiment_id for e in experiments], args.stale_after)
    except TrackingUnavailableError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    log.info("%d dead run(s) marked KILLED in %s", len(reaped), args.tracking_uri)


if __name__ == "__main__":
    main()
