"""`layers/` is a distribution of its own (`convnet-layers`): its wheel builds from the folder,
depends on TensorFlow, Keras and NumPy only, and works in a fresh virtual environment that has
those and nothing of the pipeline: its doctests pass there and a model built from it trains."""

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Run inside the fresh environment: every docstring example of the installed package, then one
# short fit of a model built from it.
CHECK = textwrap.dedent(
    """
    import doctest, importlib, importlib.util, pkgutil, sys
    import keras, numpy as np
    import layers
    assert importlib.util.find_spec("pipeline") is None, "the pipeline is importable"
    failed = tried = 0
    names = [i.name for i in pkgutil.walk_packages(layers.__path__, "layers.")]
    for module in [layers, *(importlib.import_module(name) for name in names)]:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        failed, tried = failed + result.failed, tried + result.attempted
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 12, 12, 1)).astype("float32")
    y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype("int32")
    model = keras.Sequential([keras.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=3, verbose=0).history["loss"]
    assert history[-1] < history[0], history
    print("layers from", layers.__file__, "doctests", tried, "failures", failed)
    sys.exit(1 if failed else 0)
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of layers/ (a build leaves files behind; the checkout stays clean)."""
    dist, source = tmp_path_factory.mktemp("layers-dist"), tmp_path_factory.mktemp("layers-src") / "layers"
    shutil.copytree(ROOT / "layers", source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
    done = subprocess.run([*build, "--wheel-dir", str(dist), str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [built] = dist.glob("convnet_layers-*.whl")
    return built


def test_the_wheel_holds_the_layers_and_needs_only_tensorflow_keras_and_numpy(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist")
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"layers"}
    assert (
        "layers/ops/__init__.py" in names
        and "layers/ops/convolution.py" in names
        and "layers/conv.py" in names
        and not any(n.startswith("tests") for n in names)
    )
    assert sorted(r.split(">")[0].split("=")[0].strip() for r in requires) == ["keras", "numpy", "tensorflow"]


@pytest.mark.slow
def test_the_installed_layers_pass_their_doctests_and_train_in_a_fresh_environment(wheel, tmp_path):
    """The fresh environment reaches this interpreter's TensorFlow, Keras and NumPy through a
    path entry (no download), and not its editable installs of the project."""
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "shared_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    target = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", site, str(wheel)]
    done = subprocess.run(target, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "TF_CONFIG"))}
    ran = subprocess.run(
        [str(python), "-c", CHECK],
        cwd=tmp_path,
        env={**clean, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    [line] = [line for line in ran.stdout.splitlines() if line.startswith("layers from")]
    where, tried, failed = line.split()[2], int(line.split()[4]), int(line.split()[6])
    assert where == f"{site}/layers/__init__.py" and tried >= 20 and failed == 0, line
