"""PGD-20 throughput: ours against the Adversarial Robustness Toolbox's (ART) on the same Keras
model, measured in the same run, plus the cross-check that both reach the same adversarial
accuracy without random start. Target: ours >= 5x ART's examples/s.

The limit column: the model's own forward + backward (the input gradient) examples/s divided
by 20, the most a 20-step attack can reach, measured as 20 chained gradients per batch in one
compiled call (as the attack runs); PGD-20 / limit says how much the attack spends beyond its
20 gradients (target >= 0.8).

ART is a benchmark-only extra: `pip install -e ".[bench]"` (not a runtime dependency).

    python scripts/bench_attacks.py [--examples 360] [--batches 32 128 512] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import time

import keras
import numpy as np
import tensorflow as tf

from pipeline.attacks import PGD, accuracy
from pipeline.data import load
from pipeline.models import build_model

log = logging.getLogger("bench_attacks")
EPS, STEP, STEPS = 0.1, 0.01, 20  # PGD-20 in L-inf on [0, 1] digits


def trained_lenet(impl: str, dataset: str = "digits") -> keras.Model:
    keras.utils.set_random_seed(0)
    train, info = load(dataset, "train", batch_size=64)
    model = build_model("lenet5", info.input_shape, info.num_classes, impl=impl)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train, epochs=5, verbose=0, shuffle=False)
    return model


def art_classifier(model: keras.Model):
    """ART's view of a Keras model emitting logits on [0, 1] images (benchmarks only)."""
    from art.estimators.classification import TensorFlowV2Classifier

    return TensorFlowV2Classifier(
        model=model,
        nb_classes=int(model.output_shape[-1]),
        input_shape=tuple(model.input_shape[1:]),
        clip_values=(0.0, 1.0),
        loss_object=keras.losses.CategoricalCrossentropy(from_logits=True),
    )


def ours(model: keras.Model, batch: int):
    attack = PGD(model, eps=EPS, step_size=STEP, steps=STEPS, random_start=False, batch_size=batch)
    return lambda x, y: np.asarray(attack(x, y))


def art_pgd(model: keras.Model, batch: int):
    from art.attacks.evasion import ProjectedGradientDescent

    attack = ProjectedGradientDescent(
        art_classifier(model),
        norm=np.inf,
        eps=EPS,
        eps_step=STEP,
        max_iter=STEPS,
        num_random_init=0,
        batch_size=batch,
        verbose=False,
    )
    return lambda x, y: attack.generate(x, np.eye(10, dtype=np.float32)[y])


def input_gradients(model: keras.Model, batch: int):
    """STEPS forward + backward passes per batch in one compiled call, each input the last one
    moved by a negligible step along its gradient (so they run in sequence, as an attack's do)."""

    @tf.function(reduce_retracing=True)
    def gradients(x, y):
        for _ in tf.range(STEPS):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=False)))
            x = x + 1e-12 * tape.gradient(loss, x)
        return x

    return lambda x, y: np.concatenate(
        [
            np.asarray(gradients(tf.constant(x[s : s + batch]), tf.constant(y[s : s + batch])))
            for s in range(0, len(x), batch)
        ]
    )


def throughput(run, x: np.ndarray, y: np.ndarray, repeats: int) -> tuple[float, np.ndarray]:
    """Median examples/s over `repeats` timed calls, after one untimed call (tracing)."""
    adversarial = run(x, y)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(x, y)
        times.append(time.perf_counter() - start)
    return len(x) / float(np.median(times)), adversarial


def compare(
    keras_model: keras.Model, custom_model: keras.Model, x: np.ndarray, y: np.ndarray, batch: int, repeats: int
) -> None:
    """One table row per attack at one batch size, and the accuracy cross-check."""
    rate_art, adv_art = throughput(art_pgd(keras_model, batch), x, y, repeats)
    rate_ours, adv_ours = throughput(ours(keras_model, batch), x, y, repeats)
    rate_custom, _ = throughput(ours(custom_model, batch), x, y, repeats)
    limit = {
        kind: throughput(input_gradients(model, batch), x, y, repeats)[0]
        for kind, model in (("keras layers", keras_model), ("our layers", custom_model))
    }
    for who, model_kind, rate in (
        ("ART ProjectedGradientDescent", "keras layers", rate_art),
        ("ours PGD", "keras layers", rate_ours),
        ("ours PGD", "our layers", rate_custom),
    ):
        log.info(
            "| %d | %s | %s | %.0f | %.2f | %.0f | %.2f |",
            *(batch, who, model_kind, rate, rate / rate_art, limit[model_kind], rate / limit[model_kind]),
        )
    log.info("|  | our layers / keras layers, ours PGD: %.2f (target >= 0.95) | | | | | |", rate_custom / rate_ours)
    log.info(
        "|  | adversarial accuracy: ART %.4f, ours %.4f | max abs(x_ours - x_art) %.2g | | | | |",
        accuracy(keras_model, adv_art, y),
        accuracy(keras_model, adv_ours, y),
        float(np.abs(adv_ours - adv_art).max()),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=360)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128, 512], help="32 is ART's default batch_size")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    test, _ = load("digits", "test", batch_size=args.examples)
    x, y = (t.numpy() for t in next(iter(test)))
    keras_model, custom_model = trained_lenet("keras"), trained_lenet("custom")
    log.info(
        "PGD-%d, L-inf eps %g, step %g, no random start; %d digits test images; LeNet-5 (clean accuracy %.4f)",
        STEPS,
        EPS,
        STEP,
        len(x),
        accuracy(keras_model, x, y),
    )
    log.info(
        "| batch | attack | model | examples/s | vs ART | limit (grad/%d) | / limit |\n|---|---|---|---|---|---|---|",
        STEPS,
    )
    for batch in args.batches:
        compare(keras_model, custom_model, x, y, batch, args.repeats)


if __name__ == "__main__":
    main()
