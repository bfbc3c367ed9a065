"""Deep feature interpolation (Upchurch et al., "Deep Feature Interpolation for Image Content
Changes", CVPR 2017): an attribute is a direction in a convnet's feature space, the mean features
of images with it minus the mean of images without it; an image is edited by moving its features
along that direction and finding, by optimisation, an image whose features are there.

    w = mean phi(target set) - mean phi(source set)
    z* = argmin_z  sum_l ||phi_l(z) - (phi_l(x) + alpha w_l)||^2 / n_l  +  lambda TV(z - x)

phi is a list of layers (the paper: VGG's conv3_1, conv4_1, conv5_1), each divided by its RMS over
both sets so that each layer weighs the same; TV is the squared total variation (the paper's
beta = 2 prior), here of the change z - x (the paper's is of z, which also blurs what the edit
should keep). alpha = 1 moves an image's features by the mean difference between the two sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from pipeline.drawing import Panel
from pipeline.visualize.arrays import capped, float32
from pipeline.visualize.figures import images_figure
from pipeline.visualize.layer_graph import after_activation, submodel
from pipeline.visualize.methods import Context, method

UPCHURCH_LAYERS = ("block3_conv1", "block4_conv1", "block5_conv1")  # VGG's conv3_1, conv4_1, conv5_1


@dataclass(frozen=True)
class Attribute:
    """The attribute direction per layer (in scaled features) and each layer's scale."""

    layers: tuple[str, ...]
    scales: tuple[float, ...]  # RMS of each layer's features over both sets
    source_mean: tuple[np.ndarray, ...]
    target_mean: tuple[np.ndarray, ...]

    @property
    def direction(self) -> tuple[np.ndarray, ...]:
        return tuple(t - s for s, t in zip(self.source_mean, self.target_mean))


@dataclass(frozen=True)
class Interpolation:
    """images: (S, N, H, W, C), one edit per strength; loss: (steps, S) reconstruction objective;
    before / after: (N,) and (S, N) `position` of the image's and each edit's features on the
    attribute axis; after - before is how far the edit moved along w (the goal is the strength).
    (The distance to the target set's mean is not a measure of success: one image is much farther
    from any mean than the two means are from each other, and a reconstruction also moves across
    the axis.)"""

    strengths: tuple[float, ...]
    images: np.ndarray
    loss: np.ndarray
    before: np.ndarray
    after: np.ndarray

    @property
    def moved(self) -> np.ndarray:
        return self.after - self.before


def _features(probe: keras.Model, x, batch_size: int = 16) -> list[np.ndarray]:
    """Each layer's features of x, (N, ...), computed in batches."""
    chunks = []
    for start in range(0, len(x), batch_size):
        out = probe(tf.convert_to_tensor(x[start : start + batch_size], tf.float32), training=False)
        chunks.append([float32(o).numpy() for o in (out if isinstance(out, (list, tuple)) else [out])])
    return [np.concatenate(parts) for parts in zip(*chunks)]


def attribute(model: keras.Model, source, target, layer_names: Sequence[str]) -> Attribute:
    """The attribute vector between `source` (without) and `target` (with), each (N, H, W, C)."""
    if len(source) == 0 or len(target) == 0:
        raise ValueError("Deep feature interpolation needs images in both the source and the target set.")
    probe = submodel(model, list(layer_names))
    source_f, target_f = _features(probe, np.asarray(source)), _features(probe, np.asarray(target))
    scales = tuple(float(np.sqrt(np.mean(np.concatenate([s, t]) ** 2))) or 1.0 for s, t in zip(source_f, target_f))
    return Attribute(
        tuple(layer_names),
        scales,
        tuple(s.mean(axis=0) / k for s, k in zip(source_f, scales)),
        tuple(t.mean(axis=0) / k for t, k in zip(target_f, scales)),
    )


def position(features: Sequence[np.ndarray], a: Attribute) -> np.ndarray:
    """Per image: where its features sit on the attribute axis, <phi(x) - mean phi(source), w> /
    ||w||^2 (scaled features): 0 at the source set's mean, 1 at the target set's."""
    along = sum(
        np.sum((f / k - s) * w, axis=tuple(range(1, f.ndim)))
        for f, k, s, w in zip(features, a.scales, a.source_mean, a.direction)
    )
    return along / max(sum(np.sum(w**2) for w in a.direction), 1e-12)


def total_variation(z: tf.Tensor) -> tf.Tensor:
    """Mean squared difference of neighbouring pixels, per image (the beta = 2 TV prior)."""
    down = tf.reduce_mean(tf.square(z[:, 1:] - z[:, :-1]), axis=[1, 2, 3])
    right = tf.reduce_mean(tf.square(z[:, :, 1:] - z[:, :, :-1]), axis=[1, 2, 3])
    return down + right


def feature_interpolation(
    model: keras.Model,
    x,
    a: Attribute,
    strengths: Sequence[float] = (1.0, 2.0, 4.0),
    steps: int = 150,
    tv_weight: float = 10.0,
    learning_rate: float = 0.03,
) -> Interpolation:
    """Edit images x, (N, H, W, C) in [0, 1], along attribute `a` at each strength: features
    phi(x) + alpha w, reconstructed from x by Adam on the pixels (clipped to [0, 1]), with a
    total-variation prior on the change."""
    x = np.asarray(x, np.float32)
    probe = submodel(model, list(a.layers))
    start = _features(probe, x)
    shifts = [
        np.concatenate([np.broadcast_to(alpha * w, f.shape) for alpha in strengths]) for f, w in zip(start, a.direction)
    ]
    images, loss = _reconstruct(
        probe, np.concatenate([x] * len(strengths)), shifts, a.scales, steps, tv_weight, learning_rate
    )
    found, count = _features(probe, images), (len(strengths), len(x))
    return Interpolation(
        strengths=tuple(strengths),
        images=images.reshape(*count, *x.shape[1:]),
        loss=loss.reshape(len(loss), *count).mean(axis=2),
        before=position(start, a),
        after=position(found, a).reshape(count),
    )


# The pixels' gradients here are 1e-5 to 1e-3: with Adam's usual 1e-7, a pixel whose gradient is
# round-off takes as large a step as one that matters, and the image fills with noise.
ADAM_EPSILON = 1e-4


def warmed_up(learning_rate: float, steps: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """A linear warm-up over the first fifth of the steps, then a cosine decay to 1% of the rate.
    Adam's first steps move every pixel by the full rate whatever its gradient's size (its moment
    estimates hold one sample), which throws the image off its features; the decay lets the last
    steps settle instead of oscillating at the full rate."""
    warmup = max(steps // 5, 1)
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(steps - warmup, 1), alpha=0.01, warmup_target=learning_rate, warmup_steps=warmup
    )


def _reconstruct(probe, z0, shifts, scales, steps, tv_weight, learning_rate) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the distance of the scaled features to phi(z0) / k + shift, plus
    tv_weight * TV(z - z0), from z0; returns the images and the per-image objective at each step,
    (steps, N). phi(z0) is computed by the same graph as phi(z), so a zero shift is a zero
    gradient (Adam would otherwise blow round-off up to full-size steps)."""
    z = tf.Variable(z0)
    optimizer = keras.optimizers.Adam(warmed_up(learning_rate, max(capped(steps), 1)), epsilon=ADAM_EPSILON)

    @tf.function
    def features(image):
        out = probe(image, training=False)
        return [float32(o) / k for o, k in zip(out if isinstance(out, (list, tuple)) else [out], scales)]

    goals = [f + s for f, s in zip(features(tf.constant(z0)), shifts)]

    def objective():
        terms = [tf.reduce_mean(tf.square(f - g), axis=tf.range(1, tf.rank(g))) for f, g in zip(features(z), goals)]
        return tf.add_n(terms) + tv_weight * total_variation(z - z0)

    @tf.function
    def step():
        with tf.GradientTape(watch_accessed_variables=False) as tape:  # the pixels only, not the weights
            tape.watch(z)
            value = objective()
            total = tf.reduce_sum(value)
        optimizer.apply_gradients([(tape.gradient(total, z), z)])
        z.assign(tf.clip_by_value(z, 0.0, 1.0))
        return value

    history = [step().numpy() for _ in range(max(capped(steps), 1))]
    return z.numpy(), np.stack(history)


@method("feature_interpolation", "preferred inputs", conv=True, attribute=True)
def feature_interpolation_panel(c: Context) -> list[Panel]:
    s, names = c.settings.interpolation, [layer.name for layer in c.model.layers]
    wanted = s.layers or (UPCHURCH_LAYERS if set(UPCHURCH_LAYERS) <= set(names) else c.layers)
    layers = [after_activation(c.model, n) if n in UPCHURCH_LAYERS else n for n in wanted]
    a = attribute(c.model, *c.attribute_sets, layers)
    x = c.shown[: s.num_images]
    r = feature_interpolation(c.model, x, a, s.strengths, s.steps, s.tv_weight, s.learning_rate)
    c.metrics |= {f"dfi_moved/{alpha:g}": float(moved.mean()) for alpha, moved in zip(r.strengths, r.moved)}
    images = [im for i in range(len(x)) for im in (x[i], *r.images[:, i])]
    titles = [
        t
        for i in range(len(x))
        for t in ("original", *[f"alpha {a:g}: moved {m[i]:+.2f}" for a, m in zip(r.strengths, r.moved)])
    ]
    return [
        Panel(
            "feature_interpolation",
            images_figure(images, titles, f"Deep feature interpolation at {', '.join(layers)}", len(titles) // len(x)),
            f"Features moved by alpha times (mean features with - without the attribute, {len(c.attribute_sets[0])} "
            f"and {len(c.attribute_sets[1])} images), reconstructed by {s.steps} Adam steps with a TV prior; "
            "'moved' is how far the edit's features went along that vector (the goal is alpha).",
        )
    ]
