"""A joblib multirun: one MLflow parent run for the sweep, a FINISHED child per job."""

import pytest

from tests.pipeline.conftest import all_runs


@pytest.mark.slow
def test_joblib_multirun_has_a_parent_and_two_children(cli, tmp_path):
    done = cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "model=lenet5,linear",
        "debug=tiny",
        "stages=[train]",
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    runs = all_runs(tmp_path)
    [parent] = [r for r in runs if r.data.tags.get("sweep") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED"
    assert sorted(c.data.params["model.name"] for c in children) == ["lenet5", "linear"]
    assert all(c.info.status == "FINISHED" for c in children)
