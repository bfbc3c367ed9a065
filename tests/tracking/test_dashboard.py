"""What MLflow's own UI shows of a run, seen in a real browser (Debian's chromium, driven by
Playwright) against `pipeline.tracking.server`: the runs list with the training data as dataset inputs,
the run's Overview with its description (the command that reproduces it), its system metrics,
and the experiment's Models tab with the logged model linked to the run. Screenshots of each
are saved under the test's temporary directory."""

import shutil
import subprocess
import sys

import mlflow
import pytest

from pipeline.tracking.server import tracking_server
from tests.cli import cli_env

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is in the dev extra: make install")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)"),
]
# Headless, and quiet on a closed network (no sync, no component updates, no background lookups).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRAINING_VIEW = "?workflowType=machine_learning"  # MLflow 3's model-training view, as the run's printed link opens


@pytest.fixture
def served_run(tmp_path, tfds_dir):
    """A server, and one short run with a logged model recorded through it."""
    with tracking_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "served", cwd=tmp_path) as uri:
        # A sample a second: the tiny run can end within the default 5 s interval, with no system metrics.
        sample = "tracking.system_metrics_interval_s=1"
        overrides = ["debug=tiny", "stages=[train]", "tracking.log_model=true", sample, f"tracking.uri={uri}"]
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", *overrides],
            cwd=tmp_path,
            env=cli_env(tfds_dir),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        client = mlflow.MlflowClient(uri)
        [experiment] = [e for e in client.search_experiments() if e.name == "debug"]
        [run] = client.search_runs([experiment.experiment_id])
        yield uri, experiment.experiment_id, run


def look(page, url: str, shot, *texts: str) -> str:
    """Open `url`, wait until every text shows, save a screenshot; the page's text."""
    page.goto(url)
    for text in texts:
        page.get_by_text(text, exact=False).first.wait_for(timeout=60_000)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    return page.inner_text("body")


def test_the_dashboard_shows_data_description_system_metrics_and_model(served_run, tmp_path):
    uri, experiment, run = served_run
    run_id, name = run.info.run_id, run.info.run_name
    digests = [i.dataset.digest for i in run.inputs.dataset_inputs]
    page_of = f"{uri}/#/experiments/{experiment}"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1800, "height": 900})
        runs = look(page, f"{page_of}/runs{TRAINING_VIEW}", tmp_path / "runs.png", name)
        assert f"digits ({digests[0]})" in runs  # the training data as the run's dataset input
        overview = look(
            page, f"{page_of}/runs/{run_id}{TRAINING_VIEW}", tmp_path / "overview.png", "Reproduce", "Metrics"
        )
        assert f"git checkout {run.data.tags['git_commit']}" in overview
        assert "python -m pipeline debug=tiny 'stages=[train]' tracking.log_model=true" in overview
        cpu_chart = f"{name} (system/cpu_utilization_percentage)"  # the legend of a chart of the run's CPU
        look(page, f"{page_of}/runs/{run_id}/system-metrics{TRAINING_VIEW}", tmp_path / "system.png", cpu_chart)
        # The table fills in after the page's frame (and MLflow 3.17's assistant panel): wait for the row itself.
        models = look(page, f"{page_of}/models{TRAINING_VIEW}", tmp_path / "models.png", "Ready", name)
        assert "model" in models.split() and name in models  # the logged model, from this run
        browser.close()
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["models.png", "overview.png", "runs.png", "system.png"]
