"""`to_fully_convolutional`: same logits at the training size; on a larger input, the classifier
slid over the image, i.e. each score-map position equals the logits of one crop."""

import numpy as np
import pytest

from pipeline.models import build_model, to_fully_convolutional
from tests.models.helpers import SMALL, batch

# name -> total stride of the feature extractor (the step between score-map positions)
STRIDES = {"linear": 1, "lenet5": 4, "pattern": 4, "vgg11": 32, "alexnet": 32}
# Nets with only "valid" convolutions, whose score map is exactly the classifier on each crop.
VALID_ONLY = {"linear", "lenet5"}


@pytest.mark.parametrize("impl", ["custom", "keras"])
@pytest.mark.parametrize("name", list(STRIDES))
def test_same_logits_and_a_sliding_score_map(name, impl):
    shape, options = SMALL[name]
    model = build_model(name, shape, 7, impl=impl, **options)
    converted = to_fully_convolutional(model)
    x = batch(shape, count=2)
    np.testing.assert_allclose(converted(x, training=False)[:, 0, 0], model(x, training=False), atol=1e-5)

    stride, (height, width) = STRIDES[name], shape[:2]
    big = batch((height + 2 * stride, width + stride, shape[2]), count=1, seed=3)
    scores = converted(big, training=False).numpy()
    assert scores.shape == (1, 3, 2, 7)
    if name not in VALID_ONLY:
        return  # "same" padding puts zeros at the image border, not at each crop's border
    for row in range(3):
        for col in range(2):
            crop = big[:, row * stride : row * stride + height, col * stride : col * stride + width]
            np.testing.assert_allclose(scores[:, row, col], model(crop, training=False), atol=1e-4)


def test_maxout_heads_convert_too():
    model = build_model("pattern", (32, 32, 1), 3, activation="maxout", filters=4, fc_units=8)
    x = batch((32, 32, 1))
    np.testing.assert_allclose(to_fully_convolutional(model)(x)[:, 0, 0], model(x), atol=1e-5)


@pytest.mark.parametrize(
    "name, message",
    [("resnet20", "Expected a keras.Sequential classifier"), ("allconv", "no Flatten \\+ Dense head")],
)
def test_nets_without_a_dense_head_are_refused(name, message):
    shape, options = SMALL[name]
    with pytest.raises(ValueError, match=message):
        to_fully_convolutional(build_model(name, shape, 3, **options))
