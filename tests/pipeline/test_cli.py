"""The command line end to end: a short run recorded completely in MLflow, the model reloadable
in a fresh process, identical metrics for identical seeds, and one-line errors for bad input."""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.cli import all_runs, mlflow_store, run_cli

TINY = ("debug=tiny", "tracking.log_model=true", "tracking.experiment=cli")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, tfds_dir):
    """One short run of every stage through the command line, shared by the tests below (each
    checks one part of the record, so one early failure does not hide the others), and by both
    xdist workers: the first to arrive runs it, the other reads what it left."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    folder = tmp_path_factory.getbasetemp().parent / "cli" if worker else tmp_path_factory.mktemp("cli")
    folder.mkdir(exist_ok=True)
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done.json").exists():
            (folder / "done.json").write_text(json.dumps(first_run(folder, tfds_dir)))
    saved = json.loads((folder / "done.json").read_text())
    client = mlflow_store(folder) if saved["run_id"] else None
    return SimpleNamespace(
        done=SimpleNamespace(returncode=saved["returncode"], stdout=saved["stdout"]),
        folder=folder,
        output_dir=Path(saved["output_dir"]) if saved["output_dir"] else None,
        run=client.get_run(saved["run_id"]) if client else None,
        client=client,
    )


def first_run(folder: Path, tfds_dir: str) -> dict:
    done = run_cli(folder, tfds_dir, *TINY)
    runs = all_runs(folder) if (folder / "mlflow.db").exists() else []
    outputs = list(folder.glob("outputs/*/*/report.html"))
    return {
        "returncode": done.returncode,
        "stdout": done.stdout,
        "run_id": runs[0].info.run_id if len(runs) == 1 else None,
        "output_dir": str(outputs[0].parent) if len(outputs) == 1 else None,
    }


def artifacts(recorded, path=None) -> set[str]:
    return {a.path for a in recorded.client.list_artifacts(recorded.run.info.run_id, path)}


def test_a_short_run_finishes_and_says_where_to_look(recorded):
    assert recorded.done.returncode == 0, recorded.done.stdout[-3000:]
    assert "Done: test_accuracy" in recorded.done.stdout and "make ui" in recorded.done.stdout
    assert "test_ece" in recorded.done.stdout.split("Done:")[1]
    assert recorded.run is not None and recorded.run.info.status == "FINISHED"
    assert recorded.run.info.run_name == "lenet5-digits-custom"


def test_the_console_shows_our_warnings_and_not_tensorflows_noise(recorded):
    out = recorded.done.stdout
    assert "failed call to cuInit" not in out and "did not fully read the dataset being cached" not in out
    assert "UserWarning: trainer.steps_per_epoch=3: training on 3 of" in out  # a Python warning of ours passes
    assert "triggered tf.function retracing" not in out  # one traced function per model, shape and purpose
    assert "More than 20 figures have been opened" not in out  # each method's figures are saved and closed as they come


def test_params_metrics_and_tags_are_recorded(recorded):
    run = recorded.run
    assert run.data.params["trainer.epochs"] == "1" and run.data.params["model.name"] == "lenet5"
    assert run.data.params["layers.impl"] == "custom" and run.data.params["optimizer.lr"] == "0.003"
    for metric in (
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
        "epoch_time_s",
        "examples_per_s",
        "test_loss",
        "test_accuracy",
        "test_nll",
        "test_ece",
        "val_ece",
    ):
        assert metric in run.data.metrics, metric
    assert run.data.metrics["test_nll"] == run.data.metrics["test_loss"]  # a classifier's loss is its NLL
    assert run.data.metrics["parameters"] == 61_706
    assert run.data.tags["git_commit"] and "debug=tiny" in run.data.tags["overrides"]
    note = run.data.tags["mlflow.note.content"]  # the description: the command that trains it again
    assert f"git checkout {run.data.tags['git_commit']}" in note and "python -m pipeline debug=tiny" in note
    assert {"config.yaml", "train", "report.html"} <= artifacts(recorded)  # the model: a logged model
    train = {"training_curves.png", "confusion_matrix.png", "reliability.png", "per_class.csv"}
    assert {f"train/{name}" for name in train} <= artifacts(recorded, "train")


def test_the_data_and_the_machine_are_recorded(recorded):
    """The splits as dataset inputs (name, split, size, a content digest), and system metrics."""
    inputs = recorded.run.inputs.dataset_inputs
    tags = [{t.key: t.value for t in i.tags} for i in inputs]
    splits = {t["mlflow.data.context"]: (i.dataset.name, t["examples"]) for i, t in zip(inputs, tags)}
    # sklearn's 1797 digits: 1437 train (1293 once validation's 10% is held out), the test split capped by debug=tiny
    assert splits == {"train": ("digits", "1293"), "test": ("digits", "128")}
    digests = {i.dataset.digest for i in inputs}
    assert len(digests) == 2 and all(len(d) == 8 for d in digests)
    assert "system/cpu_utilization_percentage" in recorded.run.data.metrics
    assert "system/system_memory_usage_megabytes" in recorded.run.data.metrics


def test_the_model_is_a_logged_model_of_the_run_with_its_metrics(recorded):
    [model] = recorded.client.search_logged_models([recorded.run.info.experiment_id])
    assert model.name == "model" and model.source_run_id == recorded.run.info.run_id
    assert "test_accuracy" in {metric.key for metric in model.metrics}  # what the Models tab shows


@pytest.mark.slow  # a second run or process: CI runs it with the slow tests
def test_the_logged_model_loads_in_a_process_that_never_imported_the_project(recorded):
    """MLflow's pyfunc loader registers our layers from the code shipped with the model; once
    registered, mlflow.keras reads the same model. Both agree with the run directory's model.keras."""
    script = (
        "import sys, json, numpy as np, mlflow\n"
        f"mlflow.set_tracking_uri('sqlite:///{recorded.folder / 'mlflow.db'}')\n"
        f"uri = 'runs:/{recorded.run.info.run_id}/model'\n"
        "assert 'layers' not in sys.modules and 'pipeline' not in sys.modules\n"
        "x = np.random.default_rng(0).random((3, 32, 32, 1)).astype('float32')\n"
        "pyfunc_out = np.asarray(mlflow.pyfunc.load_model(uri).predict(x))\n"
        "keras_out = np.asarray(mlflow.keras.load_model(uri)(x))\n"
        "print(json.dumps([sys.modules['layers'].__file__, pyfunc_out.tolist(), keras_out.tolist()]))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], cwd="/", capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    layers_file, pyfunc_out, keras_out = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert "/code/layers/" in layers_file  # the model's own copy of our layers, not the checkout's
    import keras

    import pipeline.models  # noqa: F401  (registers our layers in this process)

    local = keras.saving.load_model(recorded.output_dir / "model.keras")
    expected = np.asarray(local(np.random.default_rng(0).random((3, 32, 32, 1)).astype("float32")))
    np.testing.assert_allclose(pyfunc_out, expected, atol=1e-5)
    np.testing.assert_allclose(keras_out, expected, atol=1e-5)


@pytest.mark.slow  # a second run or process: CI runs it with the slow tests
def test_a_logged_model_with_a_lambda_layer_is_refused(recorded, tfds_dir):
    """Keras's safe mode: a Lambda layer's code is never run from a logged model."""
    import keras
    import mlflow

    from pipeline.tracking import serving

    inputs = keras.Input((32, 32, 1))
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(keras.layers.Lambda(lambda t: t * 2.0)(inputs)))
    mlflow.set_tracking_uri(f"sqlite:///{recorded.folder / 'mlflow.db'}")
    config = recorded.client.download_artifacts(recorded.run.info.run_id, "config.yaml", str(recorded.folder))
    with mlflow.start_run(experiment_id=recorded.run.info.experiment_id) as run:
        mlflow.log_artifact(config)
        lambda_model = keras.Model(inputs, outputs)
        serving.log(recorded.client, run.info.run_id, lambda_model, np.zeros((2, 32, 32, 1), "float32"))
    done = run_cli(recorded.folder, tfds_dir, f"model.source={run.info.run_id}", "stages=[visualize]")
    assert done.returncode == 2, done.stdout[-3000:]
    [error] = [line for line in done.stdout.splitlines() if "[ERROR]" in line]
    assert "Lambda" in error and "safe" in error and "Traceback" not in done.stdout


def test_the_visualization_stage_is_recorded(recorded):
    figures = artifacts(recorded, "visualize")
    for name in (
        "filters",
        "saliency",
        "grad_cam",
        "occlusion",
        "embedding",
        "receptive_field",
        "equivariance",
        "activation_maximization_conv1_relu",
        "class_model",
        "deep_dream",
        "smoothgrad",
        "feature_maps_0",
    ):
        assert f"visualize/{name}.png" in figures, name
    metrics = recorded.run.data.metrics
    assert metrics["erf_theoretical/conv1_relu"] == 5 and metrics["erf_measured/conv2_relu"] == 14
    assert "visualize: skipping autoencoder" in recorded.done.stdout


def test_the_adversarial_stage_is_recorded(recorded):
    attacked = artifacts(recorded, "adversarial")
    for name in (
        "robustness",
        "minimal_perturbations",
        "gallery_fgsm",
        "gallery_pgd",
        "gallery_deepfool",
        "gallery_minimal",
        "saliency_clean_vs_adversarial",
        "autoattack",
    ):
        assert f"adversarial/{name}.png" in attacked, name
    metrics = recorded.run.data.metrics
    assert metrics["robust_accuracy_fgsm_eps_0"] == metrics["robust_accuracy_pgd_eps_0"]
    assert metrics["robust_accuracy_pgd_eps_0.1"] <= metrics["robust_accuracy_pgd_eps_0"]
    assert "median_minimal_linf" in metrics and "median_deepfool_l2" in metrics
    history = recorded.client.get_metric_history(recorded.run.info.run_id, "robust_accuracy_pgd")
    assert sorted(m.step for m in history) == [0, 100]


def test_one_report_holds_every_stage(recorded):
    report = (recorded.output_dir / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 20 and "gallery pgd" in report
    assert "training curves" in report and "robust_accuracy_pgd_eps_0.1" in report
    assert report.index("training curves") < report.index("saliency") < report.index("robustness")


def test_autoattack_adds_up_and_the_leaderboard_reads_the_run(recorded):
    import mlflow

    from pipeline.tracking import leaderboard

    metrics, tags = recorded.run.data.metrics, recorded.run.data.tags
    broken = sum(metrics[f"autoattack_broken_by_{name}"] for name in ("apgd_ce", "apgd_t", "square"))
    assert metrics["autoattack_examples"] == 16 and metrics["autoattack_eps"] == pytest.approx(0.1)  # digits' budget
    assert metrics["autoattack_robust_accuracy"] * 16 == pytest.approx(
        metrics["autoattack_clean_accuracy"] * 16 - broken
    )
    low, high = metrics["autoattack_robust_accuracy_low"], metrics["autoattack_robust_accuracy_high"]
    assert low <= metrics["autoattack_robust_accuracy"] <= high
    assert tags["autoattack"] == "fast Linf eps 0.1" and "sanity_failed" in tags
    failed = [name for name in tags["sanity_failed"].split(",") if name != "none"]
    report = (recorded.output_dir / "report.html").read_text()
    assert all(f"sanity check {name} FAILED" in report for name in failed)
    mlflow.set_tracking_uri(f"sqlite:///{recorded.folder / 'mlflow.db'}")
    [row] = leaderboard.table(mlflow.search_runs(experiment_names=["cli"])).to_dict("records")
    assert (row["dataset"], row["norm"], row["eps"], row["model"], row["layers"]) == (
        "digits",
        "inf",
        0.1,
        "lenet5",
        "custom",
    )
    assert row["robust"] == metrics["autoattack_robust_accuracy"] and row["adversarial_training"] == "none"


@pytest.mark.slow  # a second run or process: CI runs it with the slow tests
def test_an_earlier_run_is_looked_at_again_from_its_id(recorded, tfds_dir):
    overrides = (
        "model.source=" + recorded.run.info.run_id,
        "stages=[visualize,adversarial]",  # the README's "attack a model trained before", shrunk
        "debug=tiny",
        "tracking.experiment=cli",
        "visualize.methods=[saliency]",
    )
    again = run_cli(recorded.folder, tfds_dir, *overrides)
    assert again.returncode == 0, again.stdout[-3000:]
    [later] = [r for r in all_runs(recorded.folder) if r.data.params.get("model.source") == recorded.run.info.run_id]
    assert later.info.status == "FINISHED"
    assert {a.path for a in recorded.client.list_artifacts(later.info.run_id, "visualize")} >= {
        "visualize/saliency.png"
    }
    assert "adversarial/robustness.png" in {
        a.path for a in recorded.client.list_artifacts(later.info.run_id, "adversarial")
    }


@pytest.mark.slow  # a second run or process: CI runs it with the slow tests
def test_same_seed_same_metrics(cli, tmp_path):
    for _ in range(2):
        assert cli("debug=tiny", "trainer.steps_per_epoch=5", "stages=[train]").returncode == 0
    first, second = all_runs(tmp_path)
    for metric in ("train_loss", "val_loss", "test_loss", "test_accuracy"):
        assert first.data.metrics[metric] == second.data.metrics[metric], metric


def slow(*case):
    """A bad-input case that imports TensorFlow before it fails (~9 s): with the slow tests."""
    return pytest.param(*case, marks=pytest.mark.slow)


@pytest.mark.parametrize(
    "overrides, code, message",
    [
        (("model=resnet200",), 1, "Could not find 'model/resnet200'"),
        (("dataset=imagenet",), 1, "Could not find 'dataset/imagenet'"),
        (("trainer.epoch=3",), 1, "Key 'epoch' not in 'TrainerConfig'"),
        (("trainer.epochs=three",), 1, "Value 'three' of type 'str' could not be converted to Integer"),
        (("trainer.precision=float8",), 1, "Invalid value 'float8'"),
        slow(("trainer.epochs=-1",), 2, "trainer.epochs must be >= 0, got -1"),
        (("trainer.batch_size=0",), 2, "trainer.batch_size must be >= 1, got 0"),
        slow(("dataset=cifar10", "dataset.download=false"), 2, "'cifar10' is not prepared"),
        slow(("tracking.uri=http://127.0.0.1:9",), 2, "MLflow tracking server http://127.0.0.1:9 did not answer"),
        (
            ("hydra.run.dir=/proc/version/run",),
            2,
            "Cannot write the output directory /proc/version/run: Not a directory",
        ),
        (("visualize.methods=[saliency,xray]",), 2, "unknown visualize.methods 'xray'; known: "),
        slow(("optimizer.schedule=linear",), 2, "unknown optimizer.schedule 'linear'; known: constant, cosine"),
        slow(("stages=[visualize]",), 2, "stages=['visualize'] need a trained model: add train, set model.source"),
        slow(("model.source=0123abc", "stages=[visualize]"), 2, "model.source=0123abc: not found in"),
        slow(("trainer.adversarial.attack=cw",), 2, "unknown trainer.adversarial.attack 'cw'; known: fgsm, pgd, bim"),
    ],
    ids=[
        "model",
        "dataset",
        "key-typo",
        "type",
        "enum",
        "epochs",
        "batch",
        "missing-data",
        "server",
        "output-dir",
        "vis-method",
        "schedule",
        "no-model",
        "from-run",
        "adv-attack",
    ],
)
def test_bad_input_fails_fast_with_a_message(cli, tmp_path, overrides, code, message):
    done = cli(*overrides, "debug=tiny", timeout=120)
    assert done.returncode == code, done.stdout[-3000:]
    assert message in done.stdout, done.stdout[-3000:]
    if code == 2:  # our own errors: one line, no traceback
        assert "Traceback" not in done.stdout
    assert (
        not [r for r in all_runs(tmp_path) if r.info.status == "RUNNING"] if (tmp_path / "mlflow.db").exists() else True
    )
    if (tmp_path / "mlflow.db").exists():
        assert all_runs(tmp_path) == []


def test_unknown_model_lists_the_known_ones(cli):
    done = cli("model=lenet", timeout=60)
    assert done.returncode == 1
    assert "Available options in 'model'" in done.stdout and "lenet5" in done.stdout


@pytest.mark.slow  # a second run or process: CI runs it with the slow tests
def test_non_finite_loss_stops_with_an_error_and_a_failed_run(cli, tmp_path):
    done = cli("debug=tiny", "optimizer=sgd", "optimizer.lr=1e12", "trainer.steps_per_epoch=20", timeout=180)
    assert done.returncode == 2, done.stdout[-3000:]
    assert "The training loss became" in done.stdout
    [run] = all_runs(tmp_path)
    assert run.info.status == "FAILED" and "training loss became" in run.data.tags["error"]


@pytest.mark.parametrize(
    "overrides",
    # Every method is checked in tests/visualize; here a few show that the stages run after each switch.
    # The segmentation experiment runs as a sweep in tests/sweeps/test_launchers.py.
    [
        (
            "trainer.precision=mixed_float16",
            "trainer.jit_compile=true",
            "trainer.adversarial.attack=pgd",
            "visualize.methods=[filters,saliency,grad_cam]",
        ),
        ("trainer.strategy=mirrored", "layers=keras", "stages=[train]"),
        ("experiment=autoencoder_digits", "visualize.methods=[filters,autoencoder]"),
    ],
    ids=["mixed-xla-adversarial", "mirrored-keras", "autoencoder"],
)
@pytest.mark.slow
def test_switches_and_targets_run(cli, tmp_path, overrides):
    done = cli("debug=tiny", *overrides)
    assert done.returncode == 0, done.stdout[-3000:]
    [run] = all_runs(tmp_path)
    assert run.info.status == "FINISHED" and np.isfinite(run.data.metrics["test_loss"])
    if "stages=[train]" in overrides:
        return
    store = mlflow_store(tmp_path)
    figures = {a.path for a in store.list_artifacts(run.info.run_id, "visualize")}
    figures |= {a.path for a in store.list_artifacts(run.info.run_id, "train")}
    assert "visualize/filters.png" in figures
    if "experiment=autoencoder_digits" in overrides:  # measured as reconstructions are: no accuracy anywhere
        assert not [name for name in run.data.metrics if "accuracy" in name]
        assert {"test_mse", "test_psnr", "test_ssim", "train_psnr", "val_psnr"} <= set(run.data.metrics)
        assert "Done: test_psnr" in done.stdout and "accuracy" not in done.stdout.split("Done:")[1]
        assert {"train/reconstructions.png", "visualize/interpolation.png"} <= figures
    else:
        assert {"test_accuracy", "test_nll", "test_ece"} <= set(run.data.metrics)
        assert {"visualize/saliency.png", "train/reliability.png", "train/per_class.csv"} <= figures
