"""Save a grid of examples of a dataset, one column per class, to look at before training.

python scripts/show_data.py bars --out bars.png
python scripts/show_data.py shapes --target mask --augment
"""

from __future__ import annotations

import argparse
import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from pipeline.data import load

log = logging.getLogger("show_data")


def examples_by_class(ds, num_classes: int, per_class: int) -> dict[int, list]:
    """The first `per_class` (image, target) pairs of each class, from an unbatched dataset."""
    found: dict[int, list] = {k: [] for k in range(num_classes)}
    for image, target, label in ds:
        bucket = found[int(label)]
        if len(bucket) < per_class:
            bucket.append((image.numpy(), target.numpy()))
        if all(len(b) == per_class for b in found.values()):
            break
    return found


def draw(axis, image: np.ndarray, target: np.ndarray, target_kind: str) -> None:
    if image.ndim == 2:  # a 1D signal (length, 1)
        axis.plot(image[:, 0], linewidth=0.8)
        axis.set_ylim(0, 1)
        return
    axis.imshow(image.squeeze(), cmap="gray", vmin=0, vmax=1)
    if target_kind == "mask":
        axis.contour(target, levels=np.arange(0.5, target.max() + 1), colors="red", linewidths=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("--split", default="train")
    parser.add_argument("--per-class", type=int, default=6)
    parser.add_argument("--target", default="label", choices=("label", "mask"))
    parser.add_argument("--augment", action="store_true")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="PNG path (default: NAME.png)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)

    common = dict(data_dir=args.data_dir, shuffle_seed=0)
    images, info = load(args.name, args.split, augment=args.augment, target=args.target, **common)
    labels, label_info = load(args.name, args.split, **common)
    ds = tf.data.Dataset.zip(images, labels).map(lambda pair, labelled: (*pair, labelled[1]))
    found = examples_by_class(ds, label_info.num_classes, args.per_class)

    cols = label_info.num_classes
    fig, axes = plt.subplots(args.per_class, cols, figsize=(1.3 * cols, 1.3 * args.per_class), squeeze=False)
    for k in range(cols):
        axes[0, k].set_title(label_info.class_names[k], fontsize=8)
        for row in range(args.per_class):
            axis = axes[row, k]
            axis.set_xticks([]), axis.set_yticks([])
            if row < len(found[k]):
                draw(axis, *found[k][row], info.target)
    fig.suptitle(f"{args.name} / {args.split}: {info.num_examples} examples, input {info.input_shape}", fontsize=9)
    fig.tight_layout()
    out = args.out or f"{args.name}.png"
    fig.savefig(out, dpi=110)
    log.info("wrote %s", out)


if __name__ == "__main__":
    main()
