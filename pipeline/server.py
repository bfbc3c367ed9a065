"""`make server` (`python -m pipeline.server`): an MLflow tracking server for a team.

Runs and metrics go to a database (`--backend-store-uri`, or `$MLFLOW_BACKEND_STORE_URI`: a
PostgreSQL URI, or by default a SQLite file here); artifacts are uploaded through the server to
`--artifacts-destination` (`$MLFLOW_ARTIFACTS_DESTINATION`, default `./mlartifacts`), so clients
need no access to the storage. It listens on 127.0.0.1 (`--port`, `$MLFLOW_PORT`, default 5000)
with MLflow's security middleware on (allowed hosts and CORS origins: MLflow's defaults). Other
options go to `mlflow server` as they are, e.g. `--app-name basic-auth` (users and passwords: set
MLFLOW_FLASK_SERVER_SECRET_KEY, and MLFLOW_AUTH_ADMIN_PASSWORD on first start; clients set
MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD). A database that does not answer, or
basic auth without its secret key, ends it with one line and exit code 2, before the server starts.

    make server
    MLFLOW_BACKEND_STORE_URI=postgresql://postgres@127.0.0.1:5432/mlflow make server
    python -m pipeline tracking.uri=http://127.0.0.1:5000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from pipeline.tracking import TrackingUnavailableError, probe

DEFAULT_BACKEND = "sqlite:///mlflow-server.db"


def command(port: int, backend: str, artifacts: str, extra: list[str]) -> list[str]:
    """The `mlflow server` command line."""
    mlflow = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or "mlflow"
    return [
        *(mlflow, "server", "--host", "127.0.0.1", "--port", str(port)),
        *("--backend-store-uri", backend, "--serve-artifacts", "--artifacts-destination", artifacts),
        *extra,
    ]


def _check_auth_settings(extra: list[str]) -> None:
    """MLflow's basic-auth app needs a secret key (CSRF) and, on first start, the admin's password:
    say so in one line rather than in its traceback."""
    if "basic-auth" not in extra:
        return
    if not os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY"):
        raise TrackingUnavailableError(
            "--app-name basic-auth needs MLFLOW_FLASK_SERVER_SECRET_KEY (the same on every server) and, "
            "on first start, MLFLOW_AUTH_ADMIN_PASSWORD for the admin user."
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("MLFLOW_PORT", 5000)))
    parser.add_argument("--backend-store-uri", default=os.environ.get("MLFLOW_BACKEND_STORE_URI", DEFAULT_BACKEND))
    parser.add_argument(
        "--artifacts-destination", default=os.environ.get("MLFLOW_ARTIFACTS_DESTINATION", "./mlartifacts")
    )
    args, extra = parser.parse_known_args(argv)
    try:
        probe(args.backend_store_uri, timeout_s=10)
        _check_auth_settings(extra)
    except TrackingUnavailableError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    line = command(args.port, args.backend_store_uri, args.artifacts_destination, extra)
    os.execvp(line[0], line)


if __name__ == "__main__":
    main()
