"""Every visualization method and attack on a transfer-learning model whose pretrained base is a
nested keras.Model (Grad-CAM on such models fails with "Graph disconnected" in tf-keras-vis)."""

import dataclasses

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from pipeline.attacks import ATTACKS, make_attack
from pipeline.models import build_model
from pipeline.models.nested import inline, is_nested
from pipeline.visualize import METHODS, grad_cam
from tests.visualize.helpers import context_of


def bases():
    keras.utils.set_random_seed(0)
    return {
        "keras_applications": keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3)),
        "ours": build_model("vgg16", (32, 32, 3), None, pretrained="hed"),
    }


def transfer_model(base: keras.Model) -> keras.Model:
    return keras.Sequential(
        [keras.Input((32, 32, 3)), base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)]
    )


@pytest.mark.slow  # every method on a VGG16 base: about a minute each
@pytest.mark.parametrize("kind", ["keras_applications", "ours"])
def test_every_method_and_attack_on_a_nested_base(kind):
    model = transfer_model(bases()[kind])
    flat = inline(model)
    assert is_nested(model) and not is_nested(flat)
    context = context_of(flat, channels=3)
    # faithfulness through the nested base with a CAM; Score-CAM's 512 masked copies per layer add nothing here
    faithfulness = {"faithfulness": {"methods": ["saliency", "grad_cam"]}}
    context = dataclasses.replace(context, settings=OmegaConf.merge(context.settings, faithfulness))
    np.testing.assert_allclose(flat(context.x), model(context.x), rtol=1e-5, atol=1e-5)
    ran = []
    for name, method in METHODS.items():
        if method.skip_reason(context):
            continue
        for panel in method.panels(context):
            plt.close(panel.figure)
        ran.append(name)
    trust = {"integrated_gradients", "grad_cam_plus_plus", "score_cam", "top_patches", "faithfulness"}
    assert {"grad_cam", "feature_maps", "activation_maximization", "receptive_field"} | trust <= set(ran)
    x, y = context.x[:2], context.y[:2]
    for name in ATTACKS:  # each runs through the nested base; few steps (settings it does not take are left out)
        attack = make_attack(name, model, eps=0.05, steps=3, queries=20, target_classes=2)
        x_adv = np.asarray(attack(x, y))
        assert x_adv.shape == x.shape and np.isfinite(x_adv).all(), name


def test_grad_cam_through_a_nested_base_equals_the_hand_computed_one():
    base = bases()["keras_applications"]
    model = transfer_model(base)
    x = np.random.default_rng(1).uniform(size=(2, 32, 32, 3)).astype("float32")
    features = keras.Model(base.input, base.get_layer("block5_conv3").output)
    _, gap, dense = model.layers[0], model.layers[1], model.layers[2]
    classes = np.argmax(model(x), axis=-1)
    with tf.GradientTape() as tape:
        maps = features(x)
        tape.watch(maps)
        logits = dense(gap(base.get_layer("block5_pool")(maps)))
        score = tf.reduce_sum(tf.gather(logits, classes, axis=-1, batch_dims=1))
    weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2), keepdims=True)
    cam = tf.image.resize(tf.nn.relu(tf.reduce_sum(weights * maps, -1, keepdims=True)), (32, 32))[..., 0].numpy()
    expected = cam / cam.reshape(2, -1).max(axis=1).reshape(-1, 1, 1)
    np.testing.assert_allclose(grad_cam(inline(model), x, "block5_conv3"), expected, atol=1e-5)
