"""`load(name, split)`: a batched, shuffled, prefetched `tf.data.Dataset` and what a model needs to know."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from pipeline.data import pairs, photos, source, transforms

log = logging.getLogger(__name__)

TARGETS = ("label", "mask", "image", "pair")
# Datasets whose decoded, float32 examples take more memory than this are not cached.
CACHE_LIMIT_BYTES = 2 * 1024**3
# Shuffle buffer: the whole split when it is smaller than this, else a window of this size.
SHUFFLE_BUFFER = 10_000
# Feature names TFDS datasets use for per-pixel labels.
MASK_KEYS = ("mask", "segmentation_mask")
# The draw of `subset`: the same examples on every machine and for every model.
SUBSET_SEED = 0


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a model and a report need to know about a loaded split.

    Attributes:
        name: the dataset name as given to `load`.
        split: the split as given to `load` ("train", "validation", "test", or a TFDS slice).
        num_classes: classes of the target (for `target="mask"`: background included).
        input_shape: shape of one image as it comes out of the pipeline.
        class_names: one name per class.
        num_examples: examples in this split.
        target: what the second element of each pair is: "label", "mask", "image" or "pair".
    """

    name: str
    split: str
    num_classes: int
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    num_examples: int
    target: str = "label"


def load(
    name: str,
    split: str,
    *,
    batch_size: int | None = None,
    data_dir: str | None = None,
    shuffle_seed: int | None = 0,
    augment: bool = False,
    image_size: int | Sequence[int] | None = None,
    target: str = "label",
    validation_fraction: float = 0.1,
    options: Mapping[str, Any] | None = None,
    download: bool = True,
    epochs: int | None = None,
    first_epoch: int = 0,
    max_examples: int | None = None,
    subset: int | None = None,
) -> tuple[tf.data.Dataset, DatasetInfo]:
    """Load a split: `(dataset, info)`, the `tf.data.Dataset` of `(image, target)` pairs (images
    float32 in [0, 1]) and its `DatasetInfo`.

    Args:
        name: a TFDS name ("mnist", "cifar10", "cifar10:3.0.2", ...) or an offline dataset
            ("digits", "bars", "shapes", "signals").
        split: "train", "validation" or "test", or any TFDS split string ("train[:10%]").
            Where a dataset has no validation split, "validation" is the last
            `validation_fraction` of train and "train" the rest, so the two never overlap.
        batch_size: batch the examples; None yields single examples.
        data_dir: where prepared TFDS data lives (default: TFDS's own, ~/tensorflow_datasets).
        shuffle_seed: seed of the shuffle and augmentation of training splits ("train..."),
            reshuffled every epoch; None keeps file order. Other splits are never shuffled.
        augment: random crop with zero padding, and a horizontal flip where a mirror keeps the class (training splits).
        image_size: an int (square), (height, width), or (height, width, channels) to resize.
        target: "label" (integer class), "mask" (a class per pixel, e.g. "shapes"), "image"
            (the input, for autoencoders) or "pair" (`pipeline.data.pairs`: an image and a partner,
            (2, H, W, C), 1 if same class; test splits pair only classes no other split shows).
        validation_fraction: share of train carved out as "validation" (0 keeps all of train).
        options: generator parameters of an offline dataset, e.g. {"image_size": 64} for bars.
        download: allow downloading a real dataset that is not prepared.
        epochs, first_epoch: epochs `first_epoch`..`epochs - 1` back to back, each seeded by its
            number (resumable); None: one epoch, reshuffled per iteration.
        subset: a random subset of this many examples (`SUBSET_SEED`, the same everywhere), in
            the split's order, fixed over epochs.
        max_examples: only the first examples (of the subset, if any), cut before the cache.

    Raises:
        ValueError: an unknown name, split, target or option, or augmentation where none applies.
        DatasetNotPreparedError: a real dataset not in `data_dir` that cannot be downloaded.
    """
    _check_arguments(target, validation_fraction, batch_size)
    if name == photos.NAME:
        return _photos(split, data_dir, image_size, batch_size, target, augment, max_examples, subset)
    dataset = source.builder(name, data_dir=data_dir, options=options, download=download)
    keys, shape = _layout(dataset, target, image_size)
    _check_augment(dataset.name, split, augment, shape)
    ds, num_examples = _cached_split(dataset, split, validation_fraction, keys, shape, target, max_examples, subset)
    shuffle = min(num_examples, SHUFFLE_BUFFER) if is_training(split) and shuffle_seed is not None else 0
    passes = _Passes(shuffle, batch_size or 1, _augmentation(dataset.name, augment, target), target)
    ds = passes.epochs(ds, shuffle_seed or 0, epochs, first_epoch)
    return _batched(ds, batch_size), _info(name, split, dataset, keys, shape, num_examples, target)


def _batched(ds: tf.data.Dataset, batch_size: int | None) -> tf.data.Dataset:
    """Batches as `_Passes` made them, or single examples for `batch_size=None`; prefetched."""
    return (ds if batch_size else ds.unbatch()).prefetch(tf.data.AUTOTUNE)


def _cached_split(
    dataset: tfds.core.DatasetBuilder,
    split: str,
    validation_fraction: float,
    keys: dict[str, str],
    shape: Sequence[int],
    target: str,
    max_examples: int | None,
    subset: int | None,
) -> tuple[tf.data.Dataset, int]:
    """The split's examples decoded and cached (pairs made within the whole split, then cut),
    and how many there are."""
    tfds_split = _tfds_split(dataset, split, validation_fraction)
    if target == "pair":
        return _paired(dataset, tfds_split, split, keys, shape, max_examples, subset)
    return _decoded(dataset, tfds_split, keys, shape, max_examples, subset)


@dataclasses.dataclass(frozen=True)
class _Passes:
    """How the cached examples become batches: shuffle, batch, augment, pair, epoch after epoch."""

    shuffle: int  # shuffle buffer; 0: keep the order
    batch_size: int
    augment: Callable[[dict, tf.Tensor], dict] | None  # (batch, seed) -> batch; None: not augmented
    target: str

    def epochs(self, cached: tf.data.Dataset, seed: int, epochs: int | None, first_epoch: int) -> tf.data.Dataset:
        """One pass reshuffled per iteration (epochs None), or epochs first..epochs-1 back to back,
        each seeded by its number so a resumed run sees what an uninterrupted one would."""
        if epochs is None:
            return self.one(cached, seed, reshuffle=True)
        passes = [self.one(cached, _epoch_seed(seed, e)) for e in range(first_epoch, epochs)]
        return functools.reduce(tf.data.Dataset.concatenate, passes) if passes else self.one(cached, 0).take(0)

    def one(self, cached: tf.data.Dataset, seed: int, reshuffle: bool = False) -> tf.data.Dataset:
        """Shuffle, batch and augment one pass; `reshuffle` draws anew on every iteration."""
        ds = cached.shuffle(self.shuffle, seed=seed, reshuffle_each_iteration=reshuffle) if self.shuffle else cached
        ds = ds.batch(self.batch_size)
        if self.augment:
            ds = _augmented(ds, self.augment, seed=seed)
        return ds.map(functools.partial(_pair, target=self.target), num_parallel_calls=tf.data.AUTOTUNE)


def _layout(dataset: tfds.core.DatasetBuilder, target: str, image_size) -> tuple[dict[str, str], tuple]:
    """The feature names to read and the shape images come out at."""
    keys = _feature_keys(dataset, target)
    shape = transforms.image_shape(image_size, dataset.info.features[keys["image"]].shape)
    if None in shape:
        raise ValueError(f"{dataset.name} has images of varying size {shape}; pass `image_size` to resize them.")
    return keys, shape


def _decoded(
    dataset: tfds.core.DatasetBuilder,
    tfds_split: str,
    keys: dict,
    shape: tuple,
    max_examples: int | None,
    subset: int | None,
) -> tuple[tf.data.Dataset, int]:
    """Examples as float images and int targets at `shape`, cached in memory when they fit."""
    # TFDS would cache small splits itself (before our decoding, and warn when a preview reads
    # only part of it); the decoded examples are cached below instead.
    no_autocache = tfds.ReadConfig(try_autocache=False)
    ds = dataset.as_dataset(split=tfds_split, shuffle_files=False, read_config=no_autocache)
    num_examples = _num_examples(ds, dataset, tfds_split)
    if subset is not None:
        keep = tf.constant(subset_mask(num_examples, subset))
        ds, num_examples = ds.enumerate().filter(lambda i, _: keep[i]).map(lambda _, example: example), subset
    if max_examples is not None:
        ds, num_examples = ds.take(max_examples), min(num_examples, max_examples)
    ds = ds.map(functools.partial(_prepare, keys=keys, shape=shape), num_parallel_calls=tf.data.AUTOTUNE)
    if num_examples * math.prod(shape) * 4 <= CACHE_LIMIT_BYTES:
        ds = ds.cache()
    return ds, num_examples


def _paired(dataset, tfds_split: str, split: str, keys: dict, shape: tuple, max_examples, subset):
    """`target="pair"`: the split's examples paired (`pairs.pair_up`), the first `max_examples` pairs."""
    ds, _ = _decoded(dataset, tfds_split, keys, shape, None, subset)
    ds, count = pairs.pair_up(ds, split, dataset.info.features[keys["label"]].num_classes)
    return ds.take(max_examples or -1), min(count, max_examples or count)


def subset_mask(num_examples: int, subset: int) -> np.ndarray:
    """(num_examples,) bool: which examples a seeded random subset of `subset` of them keeps."""
    if not 0 < subset <= num_examples:
        raise ValueError(
            f"`subset` (dataset.train_examples) must be from 1 to the split's {num_examples} examples. "
            f"Received: subset={subset}"
        )
    keep = np.zeros(num_examples, bool)
    keep[np.random.default_rng(SUBSET_SEED).choice(num_examples, subset, replace=False)] = True
    return keep


def load_arguments(dataset: Mapping[str, Any], split: str) -> dict[str, Any]:
    """The `load` keyword arguments a dataset config (the `dataset` group) sets for `split`:
    `load(**load_arguments(cfg.dataset, "test"), batch_size=256)`. Augmentation applies to
    training splits only, and so does `train_examples` (a seeded subset)."""
    return {
        "name": dataset["name"],
        "split": split,
        "data_dir": dataset["data_dir"],
        "image_size": list(dataset["image_size"]) if dataset["image_size"] else None,
        "target": dataset["target"],
        "validation_fraction": dataset["validation_fraction"],
        "options": dict(dataset["options"]) or None,
        "download": dataset["download"],
        "augment": bool(dataset["augment"]) and is_training(split),
        "subset": dataset.get("train_examples") if is_training(split) else None,
    }


def _check_arguments(target: str, validation_fraction: float, batch_size: int | None) -> None:
    if target not in TARGETS:
        raise ValueError(f"Invalid value for argument `target`. Expected one of {TARGETS}. Received: target={target!r}")
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(
            f"`validation_fraction` must be in [0, 1). Received: validation_fraction={validation_fraction}"
        )
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size}")


def is_training(split: str) -> bool:
    """Training splits ("train", "train[:80%]", ...) are shuffled and may be augmented."""
    return split == "train" or split.startswith("train[")


def _check_augment(name: str, split: str, augment: bool, shape: Sequence[int]) -> None:
    if not augment:
        return
    if not is_training(split):
        raise ValueError(f"Augmentation applies to training splits only. Received: split={split!r}, augment=True")
    if len(shape) != 3:
        raise ValueError(f"Augmentation (crop, flip) is defined for images; {name} holds 1D signals.")


def _feature_keys(dataset: tfds.core.DatasetBuilder, target: str) -> dict[str, str]:
    """The feature names holding image, label and (for target="mask") mask."""
    features = dataset.info.features
    image_key, label_key = dataset.info.supervised_keys or ("image", "label")
    keys = {"image": image_key, "label": label_key}
    if target == "mask":
        mask_key = next((k for k in MASK_KEYS if k in features), None)
        if mask_key is None:
            raise ValueError(f"{dataset.name} has no per-pixel masks, so target='mask' does not apply.")
        keys["mask"] = mask_key
    return keys


def _tfds_split(dataset: tfds.core.DatasetBuilder, split: str, validation_fraction: float) -> str:
    """Map "train"/"validation" to TFDS slices when validation is carved from train."""
    splits = dataset.info.splits
    if split not in ("train", "validation") or "validation" in splits:
        if splits and split.isidentifier() and split not in splits:
            raise ValueError(f"{dataset.name} has no split {split!r}. Splits: {sorted(splits)}.")
        return split
    if validation_fraction == 0.0:
        if split == "validation":
            raise ValueError(f"{dataset.name} has no validation split and validation_fraction=0.")
        return "train"
    cut = round(100 * (1.0 - validation_fraction))
    return f"train[:{cut}%]" if split == "train" else f"train[{cut}%:]"


def _num_examples(ds: tf.data.Dataset, dataset: tfds.core.DatasetBuilder, split: str) -> int:
    count = int(ds.cardinality())
    if count < 0:  # TFDS always knows; kept for datasets that do not
        count = sum(1 for _ in ds)
    if count == 0:
        raise ValueError(f"Split {split!r} of {dataset.name} is empty.")
    return count


def _prepare(example: dict, keys: dict[str, str], shape: Sequence[int]) -> dict:
    out = {"image": transforms.to_float(example[keys["image"]]), "label": tf.cast(example[keys["label"]], tf.int32)}
    if "mask" in keys:
        out["mask"] = tf.cast(example[keys["mask"]][..., 0], tf.int32)
    return transforms.resize(out, shape) if len(shape) == 3 else out


def _photos(
    split, data_dir, image_size, batch_size, target, augment, max_examples, subset
) -> tuple[tf.data.Dataset, DatasetInfo]:
    if augment:
        raise ValueError("The photos dataset is not augmented. Set dataset.augment=false.")
    if target == "pair":
        raise ValueError("target='pair' applies to TFDS and offline datasets, not to photos.")
    images, labels, classes = photos.read(split, data_dir, image_size, None if subset else max_examples)
    if subset is not None:
        keep = subset_mask(len(images), subset)
        images, labels = images[keep], labels[keep]
    images, labels = images[:max_examples], labels[:max_examples]
    info = DatasetInfo(photos.NAME, split, len(classes), images.shape[1:], classes, len(images), target)
    return photos.dataset(images, labels, batch_size, target).prefetch(tf.data.AUTOTUNE), info


def _epoch_seed(seed: int, epoch: int) -> int:
    """A seed for one epoch of one run: different epochs, different orders; the same epoch, the same."""
    return seed * 1_000_003 + epoch


def _augmentation(name: str, augment: bool, target: str) -> Callable[[dict, tf.Tensor], dict] | None:
    """The dataset's augmentation: small affine moves for frame-filling digits, else a random
    crop, mirrored where a mirror keeps the class; for pairs, of both images independently."""
    if not augment:
        return None
    if name in transforms.JITTERED:
        one = transforms.jitter
    else:
        one = functools.partial(transforms.augment, flip=name not in transforms.NO_FLIP)
    return functools.partial(_each_of_pair, augment=one) if target == "pair" else one


def _each_of_pair(batch: dict, seed: tf.Tensor, augment: Callable[[dict, tf.Tensor], dict]) -> dict:
    """`augment` on the images of a batch of pairs (B, 2, H, W, C) as one batch of 2B images."""
    pairs_shape = tf.shape(batch["image"])
    images = tf.reshape(batch["image"], [-1, *batch["image"].shape[2:]])
    return {**batch, "image": tf.reshape(augment({"image": images}, seed)["image"], pairs_shape)}


def _augmented(ds: tf.data.Dataset, augment: Callable[[dict, tf.Tensor], dict], *, seed) -> tf.data.Dataset:
    """Augment each batch with its own stateless seed, drawn from a seeded stream (anew each epoch)."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(ds, seeds).map(augment, num_parallel_calls=tf.data.AUTOTUNE)


def _pair(example: dict, target: str) -> tuple[tf.Tensor, tf.Tensor]:
    return example["image"], example[target]


def _info(name, split, dataset, keys, shape, num_examples, target) -> DatasetInfo:
    label = dataset.info.features[keys["label"]]
    class_names = tuple(label.names)
    if target == "mask":
        class_names = ("background", *class_names)
    if target == "pair":
        class_names, shape = pairs.CLASS_NAMES, (2, *shape)
    return DatasetInfo(
        name=name,
        split=split,
        num_classes=len(class_names),
        input_shape=tuple(shape),
        class_names=class_names,
        num_examples=num_examples,
        target=target,
    )
