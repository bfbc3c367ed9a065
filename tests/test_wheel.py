"""The wheels work outside the checkout: the pipeline's and the layers' (its own distribution,
`convnet-layers`), built from the sources, installed with --no-deps into a scratch target, run
from another directory with only that target and the installed dependencies importable.
`conf/` (at the top of the repository) ships inside the pipeline's."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "layers", "pipeline", "conf")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Both wheels built from a copy of the sources (the checkout stays clean) and installed into a target."""
    scratch = tmp_path_factory.mktemp("wheel")
    source = scratch / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    # No build isolation: the build backend (setuptools, in the dev extra) is here already, no network needed.
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "--wheel-dir",
        str(scratch / "dist"),
        str(source),
        str(source / "layers"),
    ]
    built = subprocess.run(build, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = sorted(str(w) for w in (scratch / "dist").glob("*.whl"))
    assert len(wheels) == 2, wheels
    target = scratch / "target"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), *wheels]
    done = subprocess.run(install, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def run_installed(target: Path, cwd: Path, *args: str, tfds_dir: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHONPATH", "TF_CONFIG"))}
    env.update(PYTHONPATH=str(target), TF_CPP_MIN_LOG_LEVEL="2", TFDS_DATA_DIR=tfds_dir or str(cwd / "tfds"))
    return subprocess.run(
        [str(target / "bin" / "convnet-pipeline"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_the_installed_command_runs_from_another_directory(installed, tmp_path):
    assert (installed / "pipeline" / "conf" / "config.yaml").exists()
    assert sorted(p.name for p in (installed / "pipeline" / "conf").iterdir()) == sorted(
        p.name for p in (ROOT / "conf").iterdir()
    )
    shown = run_installed(installed, tmp_path, "--help")
    assert shown.returncode == 0, shown.stdout[-3000:]
    assert "convnet-pipeline is powered by Hydra" in shown.stdout and "lenet5" in shown.stdout
    done = run_installed(installed, tmp_path, "debug=tiny")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "test_accuracy" in done.stdout and list(tmp_path.glob("outputs/*/*/report.html"))
    # What ran was the installed copy, not the checkout.
    where = subprocess.run(
        [sys.executable, "-c", "import pipeline, layers; print(pipeline.__file__, layers.__file__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert all(Path(p).is_relative_to(installed) for p in where.stdout.split()), where.stdout
