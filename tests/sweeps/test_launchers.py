"""The SLURM launcher config renders the sbatch script it promises (test_sweep.py runs a sweep
through the same submitit launcher with local processes); the Optuna sweeper optimises
`optimized_metric`; sweep_resume is refused where it cannot mean anything."""

import os
import re

import pytest
from omegaconf import OmegaConf

from tests.cli import all_runs, mlflow_store, sweep_runs

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="the sweeps extra: pip install -e '.[sweeps]'")


def slurm_script(tmp_path, monkeypatch, composed, *overrides: str) -> str:
    """The sbatch file submitit writes for `hydra/launcher=slurm`, with the parameters prepared as
    Hydra's submitit launcher prepares them (generic ones as they are, the rest prefixed slurm_).
    submitit looks for `srun` first: a stand-in on PATH, since no cluster is here."""
    fake = tmp_path / "bin" / "srun"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    import submitit
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    cfg = composed("hydra/launcher=slurm", *overrides, return_hydra_config=True)
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    params.pop("_target_")
    params.pop("submitit_folder")
    executor = submitit.AutoExecutor(
        folder=tmp_path, cluster="slurm", slurm_max_num_timeout=params.pop("max_num_timeout")
    )
    generic = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(**{k if k in generic else f"slurm_{k}": v for k, v in params.items() if k != "name"})
    return executor._executor._make_submission_file_text("python -m pipeline", "uid")


def test_the_slurm_config_asks_for_a_gpu_node_with_requeue_warning(tmp_path, monkeypatch, composed):
    script = slurm_script(
        tmp_path, monkeypatch, composed, "hydra.launcher.partition=gpu", "hydra.launcher.setup=[module load cuda]"
    )
    lines = set(script.splitlines())
    for wanted in (
        "#SBATCH --partition=gpu",
        "#SBATCH --time=240",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --mem=32GB",
        "#SBATCH --signal=USR2@120",
        "module load cuda",
    ):
        assert wanted in lines, f"{wanted!r} not in the sbatch script:\n{script}"
    assert not any(re.match(r"#SBATCH --account", line) for line in lines)  # null stays out


@pytest.mark.slow
def test_optuna_searches_lr_and_width_against_the_optimized_metric(cli, tmp_path):
    done = cli(
        "-m",
        "hydra/sweeper=lr_width",
        "hydra.sweeper.n_trials=3",
        "optimized_metric=val_accuracy",
        "debug=tiny",
        "stages=[train]",
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    parent, children = sweep_runs(tmp_path)
    assert len(children) == 3 and parent.info.status == "FINISHED"
    widths = {c.data.params["model.options.width"] for c in children}
    assert widths <= {"0.5", "1.0", "2.0"}
    best = float(re.search(r"Best value: ([0-9.e-]+)", done.stdout).group(1))
    # The objective is each job's last validation accuracy, as the run logged it.
    assert best == pytest.approx(max(c.data.metrics["val_accuracy"] for c in children))
    assert "'optimizer.lr'" in done.stdout and "'+model.options.width'" in done.stdout


@pytest.mark.slow
def test_a_segmentation_sweep_optimises_the_mean_iou(cli, tmp_path):
    """Optuna over the learning rate of the U-Net on the shapes' masks, against test_mean_iou;
    each job also records the IoU per class, its mask figures and, of the per-pixel
    explanations, the class of the pixel explained."""
    done = cli(
        "-m",
        "experiment=unet_shapes",
        "hydra/sweeper=optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.direction=maximize",
        "optimizer.lr=interval(0.001,0.01)",
        "optimized_metric=test_mean_iou",
        "+model.options.filters=4",
        "debug=tiny",
        "stages=[train,visualize]",
        "visualize.methods=[filters,edges]",
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    parent, children = sweep_runs(tmp_path)
    assert len(children) == 2 and parent.info.status == "FINISHED"
    best = float(re.search(r"Best value: ([0-9.e-]+)", done.stdout).group(1))
    assert best == pytest.approx(max(c.data.metrics["test_mean_iou"] for c in children))
    child = children[0]
    assert "test_iou/background" in child.data.metrics and "test_accuracy" not in child.data.metrics
    assert {"test_pixel_accuracy", "val_mean_iou", "train_pixel_accuracy"} <= set(child.data.metrics)
    store = mlflow_store(tmp_path)
    files = {a.path for folder in ("train", "visualize") for a in store.list_artifacts(child.info.run_id, folder)}
    assert {"train/segmentation.png", "train/pixel_confusion.png", "train/per_class.csv"} <= files
    assert "visualize/edges.png" in files


@pytest.mark.slow
def test_optimizing_a_number_the_run_does_not_measure_is_one_line(cli):
    done = cli("-m", "optimized_metric=robust_accuracy_pgd_eps_0.1", "debug=tiny", "stages=[train]", timeout=300)
    assert done.returncode == 2, done.stdout[-3000:]
    assert "optimized_metric=robust_accuracy_pgd_eps_0.1 is not a number this run measures" in done.stdout
    assert "test_accuracy" in done.stdout.split("it measures:")[1]


def test_sweep_resume_without_a_multirun_is_refused(cli):
    done = cli("sweep_resume=true", timeout=120)
    assert done.returncode == 2
    assert "sweep_resume=true continues a multirun: add -m" in done.stdout


def test_sweep_resume_refuses_optuna(cli, tmp_path):
    done = cli("-m", "hydra/sweeper=lr_width", "sweep_resume=true", timeout=120)
    assert done.returncode == 2
    assert "an Optuna sweep keeps its study in memory and cannot resume" in done.stdout
    assert all(r.info.status != "RUNNING" for r in all_runs(tmp_path))
