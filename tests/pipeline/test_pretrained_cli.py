"""Pretrained networks through the command line: the presets, offline errors, transfer learning."""

import json

import numpy as np
import pytest

from tests.cli import all_runs, mlflow_store


def figures(tmp_path, run) -> set[str]:
    return {a.path for a in mlflow_store(tmp_path).list_artifacts(run.info.run_id, "visualize")}


def attribute_folders(root) -> list[str]:
    """Shape images without / with a triangle as PNG folders; the overrides that point at them."""
    from PIL import Image

    from pipeline.data import triangle_sets

    for name, images in zip(("without", "with"), triangle_sets(3, size=32)):
        (root / name).mkdir()
        for i, image in enumerate(images):
            Image.fromarray(np.round(image * 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return [
        f"visualize.interpolation.source_dir={root / 'without'}",
        f"visualize.interpolation.target_dir={root / 'with'}",
    ]


@pytest.mark.slow
def test_pretrained_vgg16_preset_runs_offline_and_says_what_it_skipped(cli, tmp_path):
    folders = attribute_folders(tmp_path)
    done = cli("experiment=pretrained_vgg16", "debug=tiny", *folders, CONVNET_VIS_MAX_STEPS="2")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "skipping saliency: it explains class decisions and this model has no classifier" in done.stdout
    assert "adversarial: skipped" in done.stdout
    (run,) = all_runs(tmp_path)
    assert run.info.status == "FINISHED"
    made = figures(tmp_path, run)
    for name in ("filters", "feature_maps_0", "activation_maximization_block5_conv1_relu", "deep_dream"):
        assert f"visualize/{name}.png" in made
    assert {"visualize/deep_dream.gif", "visualize/feature_interpolation.png"} <= made
    assert {"dfi_moved/1", "dfi_moved/4"} <= set(run.data.metrics)


@pytest.mark.slow
def test_pretrained_hed_preset_draws_edges(cli, tmp_path):
    done = cli("experiment=pretrained_hed", "debug=tiny", "visualize.num_images=1")
    assert done.returncode == 0, done.stdout[-3000:]
    (run,) = all_runs(tmp_path)
    assert {"visualize/edges.png", "visualize/edge_saliency.png", "visualize/edge_grad_cam.png"} <= figures(
        tmp_path, run
    )


@pytest.mark.slow
def test_missing_imagenet_weights_exit_2_with_one_line_and_no_running_run(cli, tmp_path):
    """An offline machine without the cached file: where it looked and how to bring it."""
    done = cli("experiment=imagenet_vgg16", "debug=tiny", KERAS_HOME=str(tmp_path / "keras"))
    assert done.returncode == 2, done.stdout[-3000:]
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in done.stdout
    assert "Traceback" not in done.stdout
    assert all(run.info.status != "RUNNING" for run in all_runs(tmp_path))


@pytest.mark.slow  # each case a process that imports TensorFlow before it fails
@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model.freeze_base=true"], "need pretrained weights"),
        (["model=vgg16", "model.pretrained=hed", "model.unfreeze_at=1"], "needs model.freeze_base=true"),
        (["model=lenet5", "model.pretrained=hed"], "unknown architecture with pretrained weights 'lenet5'"),
    ],
)
def test_bad_transfer_settings_exit_2(cli, overrides, message):
    done = cli("dataset=shapes", "debug=tiny", *overrides)
    assert done.returncode == 2 and message in done.stdout, done.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides, message",
    [
        (["visualize.interpolation.source_dir=."], "needs both source_dir"),
        (
            ["visualize.interpolation.source_dir=.", "visualize.interpolation.target_dir=/no/such/folder"],
            "visualize.interpolation.target_dir=/no/such/folder is not a folder",
        ),
        (["visualize.interpolation.strengths=[]"], "strengths is empty"),
    ],
)
def test_bad_interpolation_settings_exit_2(cli, overrides, message):
    done = cli("debug=tiny", *overrides)
    assert done.returncode == 2 and message in done.stdout, done.stdout[-3000:]


@pytest.mark.slow
def test_transfer_learning_beats_training_from_scratch(cli, tmp_path, tfds_dir):
    """A new head on the frozen hed-VGG16 base, unfrozen for the last epoch at a tenth of the rate, against the same
    VGG16 from scratch, at equal epochs on a slice of `shapes`."""
    common = [
        "model=vgg16",
        "dataset=shapes",
        "stages=[train]",
        "trainer.epochs=3",
        "trainer.steps_per_epoch=12",
        "trainer.eval_steps=4",
        "trainer.batch_size=32",
        "tracking.log_model=false",
    ]
    scratch = cli(*common, "+model.options.head=gap", "tracking.run_name=scratch", timeout=900)
    assert scratch.returncode == 0, scratch.stdout[-3000:]
    photos = shape_photos(tmp_path / "photos", tfds_dir)
    transfer = cli(
        *common,
        "model.pretrained=hed",
        "model.freeze_base=true",
        "model.unfreeze_at=2",
        "tracking.run_name=transfer",
        "stages=[train,predict]",
        f"predict.input={tmp_path / 'photos'}",
    )
    assert transfer.returncode == 0, transfer.stdout[-3000:]
    assert "Unfroze the pretrained base" in transfer.stdout
    accuracy = {r.info.run_name: r.data.metrics["test_accuracy"] for r in all_runs(tmp_path)}
    (tmp_path / "accuracy.json").write_text(json.dumps(accuracy))
    assert accuracy["transfer"] > accuracy["scratch"] + 0.15, accuracy  # measured: 0.58 against 0.32 (chance)
    predicted_as_the_model_does(tmp_path, photos)


def shape_photos(folder, tfds_dir) -> dict[str, np.ndarray]:
    """The first 24 test images of `shapes` as PNG files named by their class: {name: image}."""
    from PIL import Image

    from pipeline.data import load

    folder.mkdir()
    test, info = load("shapes", "test", batch_size=24, max_examples=24, data_dir=tfds_dir)
    x, y = next(iter(test))
    written = {}
    for i, (image, label) in enumerate(zip(x.numpy(), y.numpy())):
        name = f"{i:02d}_{info.class_names[label]}.png"
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(folder / name)
        written[name] = image
    return written


def predicted_as_the_model_does(tmp_path, photos: dict[str, np.ndarray]) -> None:
    """The predict stage's top classes of the files are the fine-tuned model's on the images
    read back with PIL, and its contact sheet was logged."""
    import csv

    import keras
    from PIL import Image

    import pipeline.models  # noqa: F401  (registers the layers for loading)

    [folder] = [p.parent for p in tmp_path.glob("outputs/*/*/predict")]
    model = keras.saving.load_model(folder / "model.keras")
    names = sorted(photos)
    read = np.stack([np.asarray(Image.open(tmp_path / "photos" / n), np.float32) / 255 for n in names])
    expected = [("circle", "square", "triangle")[c] for c in np.argmax(model.predict(read, verbose=0), axis=-1)]
    with open(folder / "predict" / "predictions.csv") as table:
        found = {row["file"]: row["class_1"] for row in csv.DictReader(table)}
    assert [found[n] for n in names] == expected
    assert (folder / "predict" / "contact_sheet.png").exists()


@pytest.mark.slow
def test_imagenet_vgg16_preset_with_keras_applications_weights(cli, tmp_path):
    """The ImageNet path end to end, offline: Keras Applications' VGG16 built with weights=None,
    written where Keras caches the ImageNet file; the preset finds it, keeps the 1000-class
    head, labels the photos with its predictions and runs the targeted attack to "airliner"."""
    import keras

    from pipeline.models.pretrained import files
    from tests.models.helpers import write_legacy

    (tmp_path / "keras" / "models").mkdir(parents=True)
    keras.utils.set_random_seed(0)
    write_legacy(
        keras.applications.VGG16(weights=None),
        tmp_path / "keras" / "models" / files.imagenet_file_name("vgg16", top=True),
    )
    done = cli(
        "experiment=imagenet_vgg16",
        "debug=tiny",
        "visualize.num_images=1",
        "visualize.methods=[feature_maps,class_model,saliency,grad_cam]",
        "visualize.class_models=[404]",
        "adversarial.minimal_examples=1",
        "adversarial.num_examples=2",
        "adversarial.autoattack.version=null",  # AutoAttack's path is the same on every model: tested on small ones
        KERAS_HOME=str(tmp_path / "keras"),
        CONVNET_VIS_MAX_STEPS="2",
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    (run,) = all_runs(tmp_path)
    made = figures(tmp_path, run) | {
        a.path for a in mlflow_store(tmp_path).list_artifacts(run.info.run_id, "adversarial")
    }
    assert {"visualize/class_model.png", "visualize/grad_cam.png", "adversarial/targeted.png"} <= made
