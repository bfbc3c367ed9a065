"""`make server` (`python -m pipeline.tracking.server`): an MLflow tracking server for a team.

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
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from pipeline.tracking.store import TrackingUnavailableError, probe

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports on 127.0.0.1 nothing listens on right now (all held open
    while they are found, so none is found twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@contextlib.contextmanager
def running(
    command: Sequence[str], ready_url: str, timeout: float = 180, cwd: Path | None = None, **env: str
) -> Iterator[subprocess.Popen]:
    """`command` started (in `cwd`, in its own process group, the venv's scripts on PATH), yielded
    once `ready_url` answers, then stopped with its children. Its output goes to a file, not a
    pipe, so a chatty server never blocks on it; it is shown if the server does not come up."""
    scripts = os.path.dirname(sys.executable)
    environment = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}", **env}
    with tempfile.TemporaryFile("w+") as output:
        server = subprocess.Popen(
            command, cwd=cwd, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_until_answering(ready_url, server, timeout, output)
            yield server
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def _wait_until_answering(url: str, server: subprocess.Popen, timeout: float, output) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                output.seek(0)
                raise RuntimeError(f"{server.args[:4]} did not answer at {url}:\n{output.read()[-3000:]}") from None
            time.sleep(0.5)


@contextlib.contextmanager
def tracking_server(
    backend: str, artifacts: Path, *extra: str, port: int | None = None, cwd: Path | None = None, **env: str
) -> Iterator[str]:
    """This module's server (on `port`, else a free one), for tests and benchmarks: yields its URI
    once it answers."""
    port = port or free_port()
    command = [sys.executable, "-m", "pipeline.tracking.server", "--port", str(port), "--backend-store-uri", backend]
    uri = f"http://127.0.0.1:{port}"
    with running([*command, "--artifacts-destination", str(artifacts), *extra], f"{uri}/health", cwd=cwd, **env):
        yield uri


LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"  # this project's machines: trust auth


@contextlib.contextmanager
def scratch_database(server: str = LOCAL_POSTGRES, prefix: str = "scratch") -> Iterator[str]:
    """A new PostgreSQL database on `server` for one test or benchmark: yields its URI, drops it
    after. TrackingUnavailableError when the driver is missing or no server answers."""
    import uuid

    try:
        import psycopg
    except ImportError:
        raise TrackingUnavailableError("no PostgreSQL driver: pip install -e '.[postgres]'") from None
    try:
        admin = psycopg.connect(f"{server}/postgres", connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        raise TrackingUnavailableError(f"no PostgreSQL server answers at {server} ({reason})") from None
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
