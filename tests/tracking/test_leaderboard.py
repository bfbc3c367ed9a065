"""`python -m pipeline.tracking.leaderboard` on a SQLite store holding runs made as the adversarial stage records
them: ranked by AutoAttack robust accuracy within each dataset, norm and budget; runs without the
metric or unfinished are left out; the command line's tables and its one-line error."""

import subprocess
import sys

import mlflow
import pytest

from pipeline.tracking import leaderboard
from tests.cli import REPO, cli_env

RUNS = [  # name, dataset, norm, eps, robust, clean, adversarial training attack
    ("plain", "digits", "inf", 0.1, 0.05, 0.97, None),
    ("pgd-trained", "digits", "inf", 0.1, 0.61, 0.93, "pgd"),
    ("fgsm-trained", "digits", "inf", 0.1, 0.32, 0.95, "fgsm"),
    ("l2", "digits", "2", 1.0, 0.40, 0.97, None),
    ("bars", "bars", "inf", 0.1, 0.70, 0.99, None),
]


@pytest.fixture
def uri(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("robust")
    for name, dataset, norm, eps, robust, clean, attack in RUNS:
        run = client.create_run(experiment, run_name=name)
        params = {
            "dataset.name": dataset,
            "adversarial.autoattack.norm": norm,
            "adversarial.autoattack.version": "fast",
        }
        params |= {"model.name": "lenet5", "layers.impl": "custom", "trainer.adversarial.attack": str(attack)}
        params |= {"trainer.adversarial.eps": "0.1"}
        for key, value in params.items():
            client.log_param(run.info.run_id, key, value)
        metrics = {"autoattack_robust_accuracy": robust, "autoattack_clean_accuracy": clean, "autoattack_eps": eps}
        metrics |= {"autoattack_robust_accuracy_low": robust - 0.05, "autoattack_robust_accuracy_high": robust + 0.05}
        metrics |= {"autoattack_examples": 256}
        for key, value in metrics.items():
            client.log_metric(run.info.run_id, key, value)
        client.set_tag(run.info.run_id, "sanity_failed", "black_box" if name == "fgsm-trained" else "none")
        client.set_terminated(run.info.run_id)
    client.create_run(experiment, run_name="no adversarial stage")  # no metric: left out
    return uri


def test_runs_are_ranked_within_their_dataset_norm_and_budget(uri):
    mlflow.set_tracking_uri(uri)
    rows = leaderboard.table(mlflow.search_runs(experiment_names=["robust"]))
    assert len(rows) == 5
    digits = rows[(rows.dataset == "digits") & (rows.norm == "inf")]
    assert list(digits.run_name) == ["pgd-trained", "fgsm-trained", "plain"] and list(digits["rank"]) == [1, 2, 3]
    assert list(digits.adversarial_training) == ["pgd eps 0.1", "fgsm eps 0.1", "none"]
    assert set(rows[rows.dataset == "bars"]["rank"]) == {1} and set(rows[rows.norm == "2"]["rank"]) == {1}


@pytest.mark.slow  # a process that imports MLflow
def test_the_command_prints_one_table_per_group_and_refuses_an_unknown_experiment(uri, tmp_path):
    command = [sys.executable, "-m", "pipeline.tracking.leaderboard", "--tracking-uri", uri]
    done = subprocess.run(
        [*command, "--experiment", "robust", "--csv", str(tmp_path / "board.csv")],
        cwd=REPO,
        env=cli_env(str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("### ") == 3 and "### digits, Linf, eps 0.1" in done.stdout
    assert "| 1 | pgd-trained (" in done.stdout and "| black_box |" in done.stdout
    assert (tmp_path / "board.csv").read_text().count("\n") == 6
    refused = subprocess.run(
        [*command, "--experiment", "nope"],
        cwd=REPO,
        env=cli_env(str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and refused.stderr.strip().endswith("has no experiment named 'nope'")
