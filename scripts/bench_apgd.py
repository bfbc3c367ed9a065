"""APGD: ours against the Adversarial Robustness Toolbox's (ART) `AutoProjectedGradientDescent`
on the same Keras model, in one run: robust accuracy side by side (target: within 1 point) and
examples/s (target: at least 5x ART's), for the cross-entropy and DLR losses at two budgets.

Both run 100 iterations from one random start with the step starting at 2 eps, on LeNet-5 after
5 epochs on digits (`keras.layers`, since ART differentiates the model itself), all 360 test
images. ART is a benchmark-only extra: `pip install -e ".[bench]"`.

    python scripts/bench_apgd.py [--steps 100] [--eps 0.05 0.1] [--batch 128] [--repeats 2]
"""

from __future__ import annotations

import argparse
import logging

import keras
import numpy as np
from bench_attacks import throughput, trained_lenet

from pipeline.attacks import APGD, accuracy
from pipeline.data import load

log = logging.getLogger("bench_apgd")
ART_LOSS = {"ce": "cross_entropy", "dlr": "difference_logits_ratio"}


def ours(model: keras.Model, eps: float, loss: str, steps: int, batch: int):
    attack = APGD(model, eps=eps, steps=steps, loss=loss, seed=0)
    return lambda x, y: np.concatenate(
        [np.asarray(attack(x[s : s + batch], y[s : s + batch])) for s in range(0, len(x), batch)]
    )


def art(model: keras.Model, eps: float, loss: str, steps: int, batch: int):
    from art.attacks.evasion import AutoProjectedGradientDescent
    from art.estimators.classification import TensorFlowV2Classifier

    classifier = TensorFlowV2Classifier(
        model=model,
        nb_classes=10,
        input_shape=(32, 32, 1),
        clip_values=(0.0, 1.0),
        loss_object=keras.losses.CategoricalCrossentropy(from_logits=True),
    )
    attack = AutoProjectedGradientDescent(
        classifier,
        norm=np.inf,
        eps=eps,
        eps_step=2 * eps,
        max_iter=steps,
        nb_random_init=1,
        batch_size=batch,
        loss_type=ART_LOSS[loss],
        verbose=False,
    )
    return lambda x, y: attack.generate(x, np.eye(10, dtype=np.float32)[y])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--eps", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    test, _ = load("digits", "test", batch_size=360)
    x, y = (t.numpy() for t in next(iter(test)))
    model = trained_lenet("keras")
    log.info(
        "LeNet-5 on digits, %d test images, clean accuracy %.4f; APGD-%d, L-inf",
        len(x),
        accuracy(model, x, y),
        args.steps,
    )
    log.info(
        "| loss | eps | ART robust acc. | ours | ART examples/s | ours | ours / ART |\n|---|---|---|---|---|---|---|"
    )
    for loss in ("ce", "dlr"):
        for eps in args.eps:
            rate_art, adv_art = throughput(art(model, eps, loss, args.steps, args.batch), x, y, args.repeats)
            rate_ours, adv_ours = throughput(ours(model, eps, loss, args.steps, args.batch), x, y, args.repeats)
            log.info(
                "| %s | %g | %.4f | %.4f | %.0f | %.0f | %.1f |",
                *(loss, eps, accuracy(model, adv_art, y), accuracy(model, adv_ours, y)),
                *(rate_art, rate_ours, rate_ours / rate_art),
            )


if __name__ == "__main__":
    main()
