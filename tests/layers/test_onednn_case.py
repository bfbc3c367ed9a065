"""The 1x1, stride-2, few-channel conv whose TensorFlow kernel gradient corrupts memory here.

TensorFlow's oneDNN backward-weights primitive writes past its buffer for this case on
AVX-512 CPUs (uxlfoundation/oneDNN#6035). The Keras reference is computed in a subprocess with
oneDNN off; our layer, whose kernel VJP is a forward convolution, runs here with oneDNN on.
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import tensorflow as tf

import layers
from tests.layers.helpers import assert_close, layer_grads

REFERENCE = textwrap.dedent("""
    import sys, numpy as np, keras, tensorflow as tf
    data = np.load(sys.argv[1])
    layer = {layer}
    layer.build(data["x"].shape)
    layer.set_weights([data["kernel"], data["bias"]])
    x = tf.constant(data["x"])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x) * data["upstream"])
    grads = tape.gradient(loss, [x, layer.kernel, layer.bias])
    np.savez(sys.argv[2], y=layer(x).numpy(), dx=grads[0].numpy(), dk=grads[1].numpy(), db=grads[2].numpy())
""")


def _reference(tmp_path, layer_code, x, kernel, bias, upstream):
    np.savez(tmp_path / "in.npz", x=x, kernel=kernel, bias=bias, upstream=upstream)
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0", TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(
        [sys.executable, "-c", REFERENCE.format(layer=layer_code), str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        check=True,
        env=env,
        timeout=300,
    )
    return np.load(tmp_path / "out.npz")


def test_1x1_stride_2_gradients_match_keras_without_onednn(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 32, 32, 4)).astype(np.float32)
    ours = layers.Conv2D(8, 1, strides=2)
    ours.build(x.shape)
    kernel, bias = rng.standard_normal((1, 1, 4, 8)).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    ours.set_weights([kernel, bias])
    upstream = rng.standard_normal((1, 16, 16, 8)).astype(np.float32)
    expected = _reference(tmp_path, "keras.layers.Conv2D(8, 1, strides=2)", x, kernel, bias, upstream)
    y, dx, dk, db = layer_grads(ours, x, upstream)
    for what, a, e in [
        ("y", y, expected["y"]),
        ("dx", dx, expected["dx"]),
        ("dk", dk, expected["dk"]),
        ("db", db, expected["db"]),
    ]:
        assert_close(a, e, 1e-5, what)


def test_our_layers_train_the_crashing_case_with_onednn_on():
    assert os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32, 32, 4)).astype(np.float32)
    target = tf.nn.conv2d(x, rng.standard_normal((1, 1, 4, 8)).astype(np.float32), 2, "VALID").numpy()
    model = keras.Sequential(
        [
            keras.Input((32, 32, 4)),
            layers.Conv2D(8, 1, strides=2),
            layers.Conv2DTranspose(4, 1, strides=2),
            layers.Conv2D(8, 1, strides=2),
        ]
    )
    model.compile(keras.optimizers.Adam(0.05), "mse")
    history = model.fit(x, target, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
