"""A model trained elsewhere through the stages (`model.source`): each kind of source (a run id,
each MLflow model URI form, a `.keras` file) and each kind of Keras classifier (Sequential,
Functional with a nested base, one ending in a softmax), the predict stage on images of one's
own, and the bad inputs, each one line, exit code 2 and no run left RUNNING."""

from __future__ import annotations

import csv
import logging

import keras
import mlflow
import numpy as np
import pytest
from PIL import Image

from pipeline import app
from pipeline.stages import sources
from pipeline.tracking import serving
from tests.cli import mlflow_store

SHAPE = (32, 32, 1)  # the digits as the pipeline loads them


def sequential(classes: int = 10, shape=SHAPE) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(classes),
        ]
    )


def nested() -> keras.Model:
    """A transfer-learning shape: a Functional base called inside a Functional classifier."""
    inputs = keras.Input(SHAPE)
    base = keras.Model(inputs, keras.layers.Conv2D(6, 3, activation="relu")(inputs), name="base")
    outer = keras.Input(SHAPE)
    features = keras.layers.GlobalAveragePooling2D()(base(outer))
    return keras.Model(outer, keras.layers.Dense(10)(features), name="transfer")


def with_softmax() -> keras.Model:
    inputs = keras.Input(SHAPE)
    x = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name="probabilities")


@pytest.fixture
def run_with(tmp_path, tfds_dir, composed):
    """`run_with(*overrides)`: the app in process on the digits, tiny settings, a store in
    tmp_path; returns the exit code (0, or 2 for a user error)."""
    common = [
        "debug=tiny",
        "trainer.deterministic=false",
        f"dataset.data_dir={tfds_dir}",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        "tracking.experiment=sources",
        "visualize.methods=[grad_cam,saliency]",
    ]

    def run(*overrides: str) -> int:
        cfg = app.resolved(composed(*common, *overrides))
        folder = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
        folder.mkdir()
        try:
            app.run(cfg, folder, [*common, *overrides])
        except SystemExit as exit:
            return exit.code
        return 0

    return run


def predictions(folder) -> list[dict]:
    """The rows of the predictions.csv a run wrote in `folder` (or in the one run under it)."""
    [path] = list(folder.glob("predict/predictions.csv")) or list(folder.glob("run*/predict/predictions.csv"))
    with open(path) as table:
        return list(csv.DictReader(table))


def runs(tmp_path) -> list:
    store = mlflow_store(tmp_path)
    experiment = store.get_experiment_by_name("sources")
    return store.search_runs([experiment.experiment_id]) if experiment else []


@pytest.mark.parametrize(
    "build",
    [pytest.param(sequential, marks=pytest.mark.slow), pytest.param(nested, marks=pytest.mark.slow), with_softmax],
    ids=["sequential", "nested", "with_softmax"],
)
def test_any_keras_classifier_goes_through_visualize_and_adversarial(build, tmp_path, run_with, caplog):
    path = tmp_path / "model.keras"
    build().save(path)
    with caplog.at_level(logging.INFO):
        assert run_with(f"model.source={path}", "stages=[visualize,adversarial]") == 0
    [run] = runs(tmp_path)
    assert run.info.status == "FINISHED"
    figures = {a.path for a in mlflow_store(tmp_path).list_artifacts(run.info.run_id, "visualize")}
    assert {"visualize/grad_cam.png", "visualize/saliency.png"} <= figures
    assert "autoattack_robust_accuracy" in run.data.metrics
    assert ("pre-softmax logits" in caplog.text) == (build is with_softmax)


@pytest.fixture
def logged(tmp_path, run_with, composed, tfds_dir):
    """A run of this pipeline's (a config.yaml of the digits) that logged a Sequential model,
    registered as `digits_model` version 1 with the alias `champion`."""
    from omegaconf import OmegaConf

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    model = sequential()
    config = OmegaConf.to_yaml(app.resolved(composed(f"dataset.data_dir={tfds_dir}")))
    with mlflow.start_run(experiment_id=mlflow.set_experiment("sources").experiment_id) as run:
        mlflow.log_text(config, "config.yaml")
        serving.log(client, run.info.run_id, model, np.zeros((2, *SHAPE), "float32"), "digits_model", "champion")
    [logged_model] = mlflow.search_logged_models(output_format="list")
    return run.info.run_id, logged_model.model_id, model


def test_every_kind_of_source_names_the_same_logged_model(logged, tmp_path):
    run_id, model_id, model = logged
    x = np.random.default_rng(0).random((3, *SHAPE)).astype("float32")
    forms = [run_id, f"runs:/{run_id}/model", "models:/digits_model/1", "models:/digits_model@champion"]
    for source in [*forms, f"models:/{model_id}"]:
        assert sources.run_behind(source) == run_id, source
        cfg = app.OmegaConf.create({"model": {"source": source, "safe_mode": True}})
        np.testing.assert_allclose(sources.load(cfg)(x), model(x), rtol=1e-6, err_msg=source)
    model.save(tmp_path / "copy.keras")
    assert (
        sources.kind(str(tmp_path / "copy.keras")) == "file"
        and sources.run_behind(str(tmp_path / "copy.keras")) is None
    )


FORMS = ["{run}", "runs:/{run}/model", "models:/digits_model/1", "models:/digits_model@champion", "models:/{model}"]


def test_each_source_form_goes_through_a_stage_on_its_run_s_dataset(logged, tmp_path, run_with, caplog):
    """Every form in one store (one logged model): each run reads the logging run's config."""
    run_id, model_id, model = logged
    x = np.random.default_rng(0).random((5, *SHAPE)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    for form in FORMS:
        source = form.format(run=run_id, model=model_id)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            assert run_with(f"model.source={source}", "stages=[predict]", f"predict.input={tmp_path / 'x.npy'}") == 0
        assert f"Using the model of {source}: lenet5 on digits" in caplog.text, source
        [later] = [r for r in runs(tmp_path) if r.data.params.get("model.source") == source]
        assert later.info.status == "FINISHED", source
        rows = predictions(max(tmp_path.glob("run*"), key=lambda p: int(p.name[3:])))
        assert [row["file"] for row in rows] == [f"x.npy[{i}]" for i in range(5)], source
        assert [row["class_1"] for row in rows] == [str(c) for c in np.argmax(model(x), axis=-1)], source


def test_predict_reads_a_folder_as_the_photos_dataset_does_and_lists_what_it_cannot_read(
    digits_lenet, tmp_path, run_with
):
    """A LeNet-5 trained on the digits predicts PNG files of test digits as it predicts the
    arrays (8-bit files: the same top class); a broken file is listed, the others go on."""
    folder = tmp_path / "digits"
    (folder / "more").mkdir(parents=True)
    x = digits_lenet.x[:20]
    for i, image in enumerate(x):
        Image.fromarray(np.round(image[..., 0] * 255).astype("uint8")).save(
            folder / ("more" if i % 2 else "") / f"{i:02d}.png"
        )
    (folder / "broken.png").write_bytes(b"not a PNG")
    digits_lenet.model.save(tmp_path / "lenet.keras")
    assert run_with(f"model.source={tmp_path / 'lenet.keras'}", "stages=[predict]", f"predict.input={folder}") == 0
    rows = {row["file"]: row for row in predictions(tmp_path)}
    expected = np.argmax(digits_lenet.model(x), axis=-1)
    names = [("more/" if i % 2 else "") + f"{i:02d}.png" for i in range(len(x))]
    agree = np.mean([rows[name]["class_1"] == str(expected[i]) for i, name in enumerate(names)])
    assert agree >= 0.95, agree
    assert rows["broken.png"]["class_1"] == "" and "cannot identify image file" in rows["broken.png"]["error"]
    probabilities = np.array([[float(rows[n][f"probability_{k}"]) for k in range(1, 6)] for n in names])
    assert (np.diff(probabilities, axis=1) <= 0).all() and (probabilities.sum(axis=1) <= 1.0001).all()
    [run] = runs(tmp_path)
    assert run.data.metrics["predict_images"] == 20 and run.data.metrics["predict_unreadable"] == 1
    logged = {a.path for a in mlflow_store(tmp_path).list_artifacts(run.info.run_id, "predict")}
    assert {"predict/predictions.csv", "predict/contact_sheet.png"} <= logged


def _lambda_model() -> keras.Model:
    inputs = keras.Input(SHAPE)
    return keras.Model(
        inputs, keras.layers.Dense(10)(keras.layers.Flatten()(keras.layers.Lambda(lambda t: t * 2)(inputs)))
    )


def _write(path, what: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    if what == "lambda":
        _lambda_model().save(path)
    elif what == "shape":
        sequential(shape=(28, 28, 1)).save(path)
    elif what == "classes":
        sequential(classes=5).save(path)
    elif what == "broken":
        path.write_bytes(b"not a PNG")
    else:
        path.write_text("no images here")
    return path


@pytest.mark.parametrize(
    "overrides, prepare, message",
    [
        (("model.source={t}/none.keras",), None, "none.keras: no such file"),
        (("model.source=models:/nobody@champion",), None, "model.source=models:/nobody@champion: not found in"),
        (("model.source={t}/m.keras",), ("m.keras", "lambda"), "Lambda"),
        (
            ("model.source={t}/m.keras",),
            ("m.keras", "shape"),
            "reads images of shape (28, 28, 1), dataset digits has (32, 32, 1)",
        ),
        (("model.source={t}/m.keras",), ("m.keras", "classes"), "scores 5 classes, dataset digits has 10"),
        (("stages=[predict]",), None, "stages=[predict] needs predict.input"),
        (("predict.input={t}/empty",), ("empty/notes.txt", "text"), "no images"),
        (("predict.input={t}/bad",), ("bad/a.png", "broken"), "none of its 1 image files could be read"),
        (("predict.input={t}/x", "predict.top=0"), None, "predict.top and predict.batch_size must be >= 1, got 0"),
        (
            ("predict.input={t}/x", "dataset.target=image"),
            None,
            "the predict stage ranks classes; this dataset's target",
        ),
    ],
    ids=[
        "missing file",
        "unknown URI",
        "unsafe model",
        "shape",
        "classes",
        "no input",
        "empty folder",
        "unreadable",
        "top 0",
        "not a classifier",
    ],
)
def test_bad_inputs_end_in_one_line_with_exit_code_2_and_no_running_run(
    overrides, prepare, message, tmp_path, run_with, caplog
):
    if prepare:
        _write(tmp_path / prepare[0], prepare[1])
    sequential().save(tmp_path / "lenet.keras")
    given = [o.format(t=tmp_path) for o in overrides]
    if not any(o.startswith("model.source") for o in given):
        given.append(f"model.source={tmp_path / 'lenet.keras'}")
    if not any(o.startswith("stages") for o in given):
        given.append("stages=[predict]" if any(o.startswith("predict.") for o in given) else "stages=[visualize]")
    with caplog.at_level(logging.ERROR, logger="pipeline"):
        assert run_with(*given) == 2
    [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert message in error and "\n" not in error, error
    if message == "Lambda":
        assert "model.safe_mode=false" in error
    assert all(r.info.status != "RUNNING" for r in runs(tmp_path))
