"""A sweep's summary figure: runs grouped into lines and points, repeats averaged; the inductive-bias
experiment through the command line puts it in the parent run."""

from types import SimpleNamespace

import pytest

from pipeline import sweep_plot
from tests.pipeline.conftest import store, sweep_runs

SPEC = {"x": "dataset.train_examples", "y": "test_accuracy", "lines": "model.name", "log_x": True, "title": None}


def run(model: str, examples: int, accuracy: float, parameters: int, status: str = "FINISHED") -> SimpleNamespace:
    params = {"model.name": model, "dataset.train_examples": str(examples)}
    metrics = {"test_accuracy": accuracy, "parameters": parameters}
    return SimpleNamespace(info=SimpleNamespace(status=status), data=SimpleNamespace(params=params, metrics=metrics))


def test_runs_become_lines_of_points_with_their_repeats():
    children = [
        run("mlp", 100, 0.8, 1000),
        run("mlp", 25, 0.5, 1000),
        run("mlp", 100, 0.9, 1000),  # a repeat (another seed)
        run("lenet5", 25, 0.7, 200),
        run("lenet5", 100, 0.1, 200, status="FAILED"),  # left out
    ]
    found = sweep_plot.lines(children, SPEC)
    assert found == {
        "lenet5 (200 parameters)": {25.0: [0.7]},
        "mlp (1,000 parameters)": {25.0: [0.5], 100.0: [0.8, 0.9]},
    }
    figure = sweep_plot.figure(found, SPEC)
    axis = figure.axes[0]
    assert axis.get_xscale() == "log" and "mean of 2 runs" in axis.get_ylabel()
    means = {bars.get_label(): bars.lines[0].get_ydata().tolist() for bars in axis.containers}
    assert means["mlp (1,000 parameters)"] == pytest.approx([0.5, 0.85])


@pytest.mark.slow
def test_the_inductive_bias_sweep_draws_its_figure_in_the_parent_run(cli, tmp_path):
    done = cli(
        "-m",
        "experiment=inductive_bias",
        "dataset.train_examples=30,60",
        "trainer.seed=0",
        "trainer.epochs=2",
        "trainer.eval_steps=2",
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    parent, children = sweep_runs(tmp_path)
    assert parent.info.status == "FINISHED" and len(children) == 4
    grid = sorted((c.data.params["model.name"], c.data.params["dataset.train_examples"]) for c in children)
    assert grid == [("lenet5", "30"), ("lenet5", "60"), ("mlp", "30"), ("mlp", "60")]
    assert all(c.data.metrics["parameters"] > 0 and "test_accuracy" in c.data.metrics for c in children)
    artifacts = [a.path for a in store(tmp_path).list_artifacts(parent.info.run_id)]
    assert sweep_plot.FILE in artifacts
