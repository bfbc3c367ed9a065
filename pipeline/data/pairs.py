"""`target="pair"`: pairs of images and whether they show the same class, for Siamese networks
(the lecture's "face pair - same person?"). The test split pairs only classes the training and
validation splits never show: a net that learned a similarity, not the classes, still tells them
apart."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

UNSEEN_SHARE = 0.3  # the last classes, at least 2, held out for the test split's pairs
SEED = 0  # the pairing: the same pairs on every machine
ROUNDS = 10  # each example is paired this many times, with new partners: more distinct pairs to
# train on, and a test AUC measured on ten times as many pairs as the split has examples
CLASS_NAMES = ("different", "same")


def classes_of(split: str, num_classes: int) -> list[int]:
    """The classes a split's pairs are drawn from: the first classes for training and validation
    splits, the last `UNSEEN_SHARE` of them (at least 2) for test splits."""
    if num_classes < 4:
        raise ValueError(f"target='pair' needs at least 4 classes (2 seen, 2 unseen). Received: {num_classes}")
    unseen = max(2, round(UNSEEN_SHARE * num_classes))
    seen = num_classes - unseen
    return list(range(seen, num_classes)) if split.startswith("test") else list(range(seen))


def partners(labels: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """For each example, another example's index and whether its class is the same (int32 1/0):
    the same class (never itself) with probability 1/2, else a uniformly drawn other class."""
    rng = np.random.default_rng(seed)
    members = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    classes = np.array(list(members))
    partner, same = np.empty(len(labels), np.int64), rng.random(len(labels)) < 0.5
    for i, label in enumerate(labels):
        pool = members[label] if same[i] and len(members[label]) > 1 else None
        if pool is None:
            same[i] = False
            pool = members[rng.choice(classes[classes != label])]
        partner[i] = rng.choice(pool[pool != i])
    return partner, same.astype(np.int32)


def pair_up(examples: tf.data.Dataset, split: str, num_classes: int) -> tuple[tf.data.Dataset, int]:
    """The split's examples of `classes_of(split)` as {"image": (2, H, W, C), "pair": 1 if same}:
    every example paired `ROUNDS` times with new partners, round after round."""
    images, labels = [], []
    for example in examples.as_numpy_iterator():
        images.append(example["image"])
        labels.append(example["label"])
    images, labels = np.stack(images), np.asarray(labels)
    kept = np.flatnonzero(np.isin(labels, classes_of(split, num_classes)))
    drawn = [partners(labels[kept], SEED + r) for r in range(ROUNDS)]
    first = np.tile(np.arange(len(kept)), ROUNDS)
    partner, same = (np.concatenate(parts) for parts in zip(*drawn))
    table = tf.constant(images[kept])

    def pair(i, j, is_same):
        return {"image": tf.stack([table[i], table[j]]), "pair": is_same}

    return tf.data.Dataset.from_tensor_slices((first, partner, same)).map(pair), len(first)
