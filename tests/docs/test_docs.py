"""The documentation: a short README whose commands are tested, a configuration reference with a
meaning for every key, an API reference with a docstring for every exported name, and a site
that builds strictly and shows what a reader looks for, in a real browser."""

import importlib
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import config_reference

ROOT = Path(__file__).resolve().parents[2]
API_PACKAGES = ("layers", "layers.ops", "pipeline.models", "pipeline.data", "pipeline.attacks", "pipeline.visualize")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Each command of the README's shell blocks, and the test that runs it.
TOUR = "python -m pipeline model=resnet20 dataset=shapes layers=keras trainer.epochs=5"
README_COMMANDS = {
    "make run": "tests/docs/test_docs.py::test_make_run_at_its_defaults (python -m pipeline)",
    "make test": ".ci/run (CI runs it)",
    TOUR: "tests/docs/test_docs.py::test_the_readme_tour_runs (with debug=tiny)",
    "python -m pipeline experiment=pretrained_vgg16": "tests/pipeline/test_pretrained_cli.py",
    "python -m pipeline stages=[adversarial] model.source=<run id | models:/... | file.keras>": (
        "tests/pipeline/test_cli.py::test_an_earlier_run_is_looked_at_again_from_its_id"
    ),
    "python -m pipeline stages=[predict] model.source=<...> predict.input=<folder>": (
        "tests/pipeline/test_sources.py::test_predict_reads_a_folder_as_the_photos_dataset_does_and_lists_what_it_cannot_read"
    ),
    "python -m pipeline -m model=lenet5,resnet20 tracking.uri=http://127.0.0.1:5000": "tests/sweeps/test_sweep.py",
    "python -m pipeline debug=tiny": "tests/pipeline/test_cli.py",
    "pip install ./layers": "tests/layers/test_distribution.py",
}


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_is_short_and_each_of_its_commands_is_tested():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200
    assert sorted(_readme_commands()) == sorted(README_COMMANDS)
    for where in README_COMMANDS.values():
        path, _, test = where.split(" ")[0].partition("::")
        assert (ROOT / path).exists(), where
        assert not test or f"def {test}(" in (ROOT / path).read_text(), where


@pytest.mark.slow  # the default experiment as shipped: a few minutes
def test_make_run_at_its_defaults(cli):
    done = cli(timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:]
    accuracy = float(re.search(r"test_accuracy[ =:]+([0-9.]+)", done.stdout).group(1))
    assert accuracy >= 0.99, done.stdout[-3000:]
    assert "report.html" in done.stdout and "visualize: the stage took" in done.stdout
    assert "Traceback" not in done.stdout and "retracing" not in done.stdout


@pytest.mark.slow  # a training run (seconds with debug=tiny)
def test_the_readme_tour_runs(cli):
    done = cli(*TOUR.split()[3:], "debug=tiny", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "test_accuracy" in done.stdout


def test_nothing_user_facing_points_outside_the_project():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text()
        assert "seeds/" not in text and not re.search(r"\b00[0-4]'s\b|lecture 00[0-4]", text), page
        assert not re.search(r"this session|earlier session|issue \d+", text, flags=re.I), page


def test_every_config_key_and_option_says_what_it_is():
    keys = config_reference.keys()
    assert len(keys) > 100 and {k.name for k in keys} >= {"trainer.epochs", "visualize.faithfulness.grid", "stages"}
    assert [k.name for k in keys if not k.meaning] == []
    for group in config_reference.GROUPS_SHOWN:
        found = config_reference.options(ROOT / "conf", group)
        assert found and [name for name, text in found.items() if not text] == [], group


def test_the_reference_shows_a_key_with_its_type_default_and_meaning():
    page = config_reference.markdown(ROOT / "conf")
    assert "| `trainer.epochs` | `int` | `60` | passes over the train split |" in page
    assert "| `layers.impl` | `str` | `(set by the group's option)` |" in page
    assert "| `keras` | keras.layers, gradients by TensorFlow autodiff" in page


@pytest.mark.parametrize("package", API_PACKAGES)
def test_every_exported_function_and_class_has_a_docstring(package):
    module = importlib.import_module(package)
    undocumented = [
        name
        for name in module.__all__
        if (inspect.isfunction(getattr(module, name)) or inspect.isclass(getattr(module, name)))
        and not (getattr(module, name).__doc__ or "").strip()
    ]
    assert undocumented == []


def _build(site: Path) -> None:
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("mkdocs is not installed (the docs extra: make docs installs it)")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow  # builds the site and drives a browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_the_site_shows_the_reader_what_they_look_for(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    site = tmp_path / "site"
    _build(site)
    shots = ROOT / "site-screenshots"
    shots.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        texts = {}
        for name, path, anchor in (
            ("home", "index.html", None),
            ("configuration", "configuration/index.html", "trainer"),
            ("layers_api", "api/layers/index.html", "layers.Conv2D"),
        ):
            page.goto((site / path).as_uri())
            top = page.locator(f"[id='{anchor}']").bounding_box()["y"] - 80 if anchor else 0
            clip = {"x": 0, "y": max(top, 0), "width": 1400, "height": 900}
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True, clip=clip)
            texts[name] = page.inner_text("body")
        browser.close()
    assert "make run" in texts["home"] and "Getting started" in texts["home"]
    assert re.search(r"trainer\.epochs\s+int\s+60\s+passes over the train split", texts["configuration"])
    assert re.search(r"Conv2D\(\s*filters,\s*kernel_size,\s*strides=1", texts["layers_api"])
    assert all((shots / f"{name}.png").stat().st_size > 20_000 for name in texts)
