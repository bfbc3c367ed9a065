"""`scripts/bench_tracking.py` on the machine's PostgreSQL: 2 jobs at once (concurrent writers) through
the tracking server; every child and the parent FINISHED and every epoch's metric rows there."""

import subprocess
import sys

import pytest

from pipeline.tracking.server import scratch_database
from pipeline.tracking.store import TrackingUnavailableError
from tests.cli import REPO, cli_env


@pytest.mark.slow
def test_a_sweep_through_the_server_on_postgresql_loses_nothing(tmp_path):
    try:
        with scratch_database():
            pass
    except TrackingUnavailableError as error:
        pytest.skip(str(error))
    command = [sys.executable, "scripts/bench_tracking.py", "--jobs", "2", "--parallel", "2", "--epochs", "2"]
    done = subprocess.run(
        [*command, "--stores", "postgres"],
        cwd=REPO,
        env=cli_env(str(tmp_path / "tfds")),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [row] = [line for line in done.stdout.splitlines() if line.startswith("| postgres |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:5] == ["2/2", "FINISHED", "28/28"]  # 2 jobs x 2 epochs x 7 metrics
