"""The AutoAttack family against its peers on the same networks, in one run.

The authors' code (`--peers authors`, `autoattack_authors.py`): our `standard` AutoAttack and
each of its members against `pyautoattack`'s on LeNet-5 (`keras.layers`, trained on `digits`, 200
test images, L-inf 0.1), and the cascade on ResNet-20 (64 of those images, L-inf 0.01: 0.02 breaks
it entirely; each of its cascades takes minutes here), the networks rebuilt in PyTorch weight for
weight. Targets:
robust accuracy within 0.01, per-example agreement >= 98%, our cascade's wall time (its first call,
tracing included) at most 0.5x theirs.

ART (`--peers art`): APGD-CE against `AutoProjectedGradientDescent`, Square against `SquareAttack`, and
the whole ensemble against ART's `AutoAttack`, on the 360 `digits` and 1,000 `bars` test images
at each dataset's standard L-inf budget (`conf/dataset/*.yaml`). Robust accuracy side by side
(target: within 1 point) and examples/s (target: at least 5x ART's).

Settings match where ART offers them: APGD 100 iterations, one random start, step from 2 eps;
Square 5,000 queries, p_init 0.8, one restart. ART's AutoAttack runs the same APGD-CE and Square
with APGD-DLR (untargeted) between them: it has no APGD-T over the top classes (its `targeted=True`
runs every attack against every class). Ours is the `standard` version (APGD-CE, APGD-T, Square).
LeNet-5 (`keras.layers`, since ART differentiates the model itself) after 5 epochs.
ART, PyTorch and pyautoattack are a benchmark-only extra: `pip install -e ".[bench]"`.

    python scripts/bench_autoattack.py [--peers authors art] [--datasets digits bars] [--only apgd square autoattack]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from bench_attacks import art_classifier, throughput, trained_lenet
from omegaconf import OmegaConf

from pipeline.attacks import APGD, AutoAttack, Square, accuracy
from pipeline.data import load
from pipeline.models import build_model

log = logging.getLogger("bench_autoattack")
CONF = Path(__file__).resolve().parents[1] / "conf" / "dataset"
EXAMPLES = {"digits": 360, "bars": 1000}
STEPS, QUERIES, P_INIT, BATCH = 100, 5000, 0.8, 128


def art_apgd(model: keras.Model, eps: float, loss: str = "cross_entropy"):
    from art.attacks.evasion import AutoProjectedGradientDescent

    return AutoProjectedGradientDescent(
        art_classifier(model), norm=np.inf, eps=eps, eps_step=2 * eps, max_iter=STEPS, nb_random_init=1,
        batch_size=BATCH, loss_type=loss, verbose=False,
    )  # fmt: skip


def art_square(model: keras.Model, eps: float):
    from art.attacks.evasion import SquareAttack

    return SquareAttack(
        art_classifier(model), norm=np.inf, max_iter=QUERIES, eps=eps, p_init=P_INIT, nb_restarts=1,
        batch_size=BATCH, verbose=False,
    )  # fmt: skip


def art_autoattack(model: keras.Model, eps: float):
    from art.attacks.evasion import AutoAttack as ArtAutoAttack

    members = [art_apgd(model, eps), art_apgd(model, eps, "difference_logits_ratio"), art_square(model, eps)]
    return ArtAutoAttack(
        art_classifier(model), norm=np.inf, eps=eps, eps_step=2 * eps, attacks=members, batch_size=BATCH
    )


def pairs(model: keras.Model, eps: float) -> dict[str, tuple]:
    """name -> (ART's attack, ours), each as (x, y) -> x_adv."""
    classes = int(model.output_shape[-1])

    def art(attack):
        return lambda x, y: attack.generate(x, np.eye(classes, dtype=np.float32)[y])

    def ours(attack):
        return lambda x, y: np.asarray(attack(x, y))

    return {
        "apgd": (art(art_apgd(model, eps)), ours(APGD(model, eps, steps=STEPS, seed=0, batch_size=BATCH))),
        "square": (
            art(art_square(model, eps)),
            ours(Square(model, eps, queries=QUERIES, p_init=P_INIT, seed=0, batch_size=BATCH)),
        ),
        "autoattack": (art(art_autoattack(model, eps)), AutoAttack(model, eps, version="standard", batch_size=BATCH)),
    }


class RowCounting(keras.Model):
    """The model, counting its forward passes by batch size (`sizes[b]`: calls on b rows)."""

    def __init__(self, model: keras.Model, largest: int):
        super().__init__()
        self.inner, self.sizes = model, tf.Variable(tf.zeros(largest + 1, tf.int64), trainable=False)

    def call(self, x, training=False):
        self.sizes.scatter_nd_add([[tf.shape(x)[0]]], tf.ones(1, tf.int64))
        return self.inner(x, training=training)


def forward_floor(model: keras.Model, x: np.ndarray, y: np.ndarray, eps: float) -> float:
    """Seconds our Square spends in the model alone: its forward passes, counted by batch size,
    each size timed on its own (compiled, median of 20). Square's own work (proposals, margins,
    bookkeeping) comes on top; what the model costs per query bounds any speed-up beyond it."""
    counting = RowCounting(model, BATCH)
    Square(counting, eps, queries=QUERIES, p_init=P_INIT, seed=0, batch_size=BATCH)(x, y)
    forward, total = tf.function(lambda v: model(v, training=False), reduce_retracing=True), 0.0
    for rows, calls in enumerate(counting.sizes.numpy()):
        if calls:
            v = tf.constant(x[:rows])
            forward(v)
            times = []
            for _ in range(20):
                started = time.perf_counter()
                forward(v).numpy()
                times.append(time.perf_counter() - started)
            total += calls * float(np.median(times))
    return total


def bench(dataset: str, only: list[str], repeats: int) -> None:
    test, _ = load(dataset, "test", batch_size=EXAMPLES[dataset])
    x, y = (t.numpy() for t in next(iter(test)))
    eps = float(OmegaConf.load(CONF / f"{dataset}.yaml").budgets["inf"])
    model = trained_lenet("keras", dataset)
    log.info(
        "\n%s: %d test images, LeNet-5 clean accuracy %.4f, L-inf eps %g", dataset, len(x), accuracy(model, x, y), eps
    )
    log.info("| attack | ART robust acc. | ours | ART examples/s | ours | ours / ART |\n|---|---|---|---|---|---|")
    for name, (art, ours) in pairs(model, eps).items():
        if name not in only:
            continue
        rate_art, adv_art = throughput(art, x, y, repeats)
        rate_ours, adv_ours = throughput(ours, x, y, repeats)
        if name == "square":
            floor = forward_floor(model, x, y, eps)
            log.info(
                "Square's forward passes alone take %.1f s here: ours at most %.1f examples/s, %.1fx ART's",
                floor,
                len(x) / floor,
                len(x) / floor / rate_art,
            )
        log.info(
            "| %s | %.4f | %.4f | %.1f | %.1f | %.1f |",
            *(
                name,
                accuracy(model, adv_art, y),
                accuracy(model, adv_ours, y),
                rate_art,
                rate_ours,
                rate_ours / rate_art,
            ),
        )


def trained_resnet20(dataset: str = "digits", epochs: int = 8) -> keras.Model:
    keras.utils.set_random_seed(0)
    train, info = load(dataset, "train", batch_size=64)
    model = build_model("resnet20", info.input_shape, info.num_classes, impl="keras")
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train, epochs=epochs, verbose=0, shuffle=False)
    return model


def versus_authors(examples: int, resnet_examples: int) -> None:
    import autoattack_authors

    test, _ = load("digits", "test", batch_size=examples)
    x, y = (t.numpy() for t in next(iter(test)))
    rows = []
    for label, model, eps, count in (
        ("LeNet-5", trained_lenet("keras", "digits"), 0.1, examples),
        ("ResNet-20", trained_resnet20(), 0.01, resnet_examples),
    ):
        log.info("%s: clean accuracy %.4f on %d digits", label, accuracy(model, x[:count], y[:count]), count)
        name = f"{label}, eps {eps:g}, {count} digits"
        rows += autoattack_authors.compare(name, model, x[:count], y[:count], eps, members=label == "LeNet-5")
    log.info("\nAgainst the authors' AutoAttack (pyautoattack), standard version, L-inf\n")
    log.info(autoattack_authors.table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", nargs="+", default=["authors", "art"], choices=["authors", "art"])
    parser.add_argument("--examples", type=int, default=200, help="digits attacked against the authors' code")
    parser.add_argument("--resnet-examples", type=int, default=64, help="of them, attacked on ResNet-20")
    parser.add_argument("--datasets", nargs="+", default=list(EXAMPLES), choices=list(EXAMPLES))
    parser.add_argument("--only", nargs="+", default=["apgd", "square", "autoattack"])
    parser.add_argument("--repeats", type=int, default=1, help="timed calls after an untimed one (ART)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if "authors" in args.peers:
        versus_authors(args.examples, args.resnet_examples)
    if "art" in args.peers:
        for dataset in args.datasets:
            bench(dataset, args.only, args.repeats)


if __name__ == "__main__":
    main()
