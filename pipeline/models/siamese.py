"""`siamese`: twin towers sharing their weights over a pair of images, then one logit of "same
class?" (the lecture's "face pair - same person?"; Bromley et al. 1993, Koch, Zemel and
Salakhutdinov 2015). Input (2, H, W, C), the pairs of `target="pair"`; the tower is any
architecture (LeNet-5 by default) ending in an `embedding`-wide code; the logit is
b - s * ||code_1 - code_2||^2 with a learned s >= 0 (the squared distance of Hadsell, Chopra and
LeCun's contrastive loss, through a sigmoid), so the tower must learn a distance, not a
classifier of the seen classes.

Where the code comes from decides what the net can compare that it never saw: `code` names a tower
layer whose flattened output is the code (LeNet-5's `pool2`: 400 numbers of strokes and their
places), in place of an `embedding`-wide dense layer. A dense code learns to tell the training
classes apart and folds unseen ones together (conf/experiment/siamese_digits.yaml has the numbers)."""

from __future__ import annotations

from collections.abc import Callable

import keras

from pipeline.errors import ConfigError
from pipeline.models.impl import Impl


def min_input(**options) -> int:
    return 1  # the tower checks its own


def build(
    inputs,
    num_classes: int,
    impl: Impl,
    make_tower: Callable[..., keras.Model],
    tower: str = "lenet5",
    embedding: int = 32,
    code: str | None = None,
):
    """One "same" logit per pair, whatever `num_classes` (a pair dataset's two names).
    `make_tower(name, input_shape, outputs, impl)` builds the named architecture as one
    sub-model (`pipeline.models.tower`)."""
    if tower == "siamese":
        raise ConfigError("A Siamese network's tower must be a single-image architecture. Received: tower='siamese'")
    twin = _tower(make_tower(tower, tuple(inputs.shape[2:]), embedding, impl), tower, code)
    first, second = twin(inputs[:, 0]), twin(inputs[:, 1])
    difference = keras.layers.Subtract(name="difference")([first, second])
    nearness = -keras.ops.sum(keras.ops.square(difference), axis=-1, keepdims=True)
    # A scale that stays non-negative (the logit only falls as the codes move apart) and starts at
    # 1 / code width: a mean squared difference. Started at 1, a 400-wide code's first logits are
    # in the hundreds and their gradients bend the tower toward the training classes (on unseen
    # digits, 0.78 in place of 0.87 after 10 epochs).
    scale = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.Constant(1 / first.shape[-1]),
        kernel_constraint=keras.constraints.NonNeg(),
        name="logits",
    )
    return scale(nearness)


def _tower(whole: keras.Model, name: str, code: str | None) -> keras.Model:
    """The tower as built (ending in an `embedding`-wide layer), or cut at its layer `code`."""
    if code is None:
        return whole
    names = [layer.name for layer in whole.layers]
    if code not in names:
        raise ConfigError(f"model.options.code={code!r} is not a layer of {name!r}. Its layers: {names}")
    flat = keras.layers.Flatten(name="code")(whole.get_layer(code).output)
    return keras.Model(whole.inputs, flat, name=whole.name)
