"""Run the pipeline's command line in a subprocess, in a scratch directory with its own MLflow store,
and read what it recorded there."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_env(tfds_dir: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TF_CONFIG"))}
    env.update(TFDS_DATA_DIR=tfds_dir, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **extra)
    return env


def run_cli(cwd: Path, tfds_dir: str, *overrides: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """`python -m pipeline *overrides` in `cwd`; the finished process, stderr merged into stdout."""
    command = [sys.executable, "-m", "pipeline", *overrides]
    return subprocess.run(
        command,
        cwd=cwd,
        env=cli_env(tfds_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def mlflow_store(tmp_path: Path):
    """An MlflowClient on the scratch directory's SQLite store."""
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")


def all_runs(tmp_path: Path) -> list:
    client = mlflow_store(tmp_path)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments) if experiments else []


def sweep_runs(tmp_path: Path) -> tuple:
    """The scratch store's one sweep parent run and its children."""
    runs = all_runs(tmp_path)
    [parent] = [r for r in runs if r.data.tags.get("sweep") == "true"]
    return parent, [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
