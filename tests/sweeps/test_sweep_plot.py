"""A sweep's summary figure: runs grouped into lines and points, repeats averaged."""

from types import SimpleNamespace

import pytest

from pipeline.sweeps import plot as sweep_plot

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
