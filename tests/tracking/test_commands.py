"""The tracking package's commands start cleanly: `python -m` finds each module unimported by the
package (runpy warns, and may run stale state, when the package's `__init__` imported it first)."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("command", ["sync", "reap", "server"])
def test_each_command_starts_without_a_runpy_warning(command):
    done = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-m", f"pipeline.tracking.{command}", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:") and "RuntimeWarning" not in done.stderr
