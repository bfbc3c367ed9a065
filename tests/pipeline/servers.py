"""Servers the tests start in a subprocess (MLflow's tracking server, its model server): a free
port, started, waited for, always stopped."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent  # the venv's scripts (mlflow, uvicorn) for servers started by name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(
    command: list[str], ready_url: str, timeout: float = 180, cwd: Path | None = None, **env: str
) -> Iterator[subprocess.Popen]:
    """`command` started (in `cwd`, in its own process group), yielded once `ready_url` answers,
    then stopped. Its output goes to a file, not a pipe, so a chatty server never blocks on it."""
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env}
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
