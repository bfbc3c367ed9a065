"""The splits the train stage reads, distributed over the strategy's replicas."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import tensorflow as tf
from omegaconf import DictConfig

from pipeline import tracking
from pipeline.data import DatasetInfo, load, load_arguments


@dataclass
class Datasets:
    """info: the train split's; test_info: the test split's (its class names label the figures);
    validation, test: distributed; test_local: the test split on this process, for figures."""

    cfg: DictConfig
    strategy: tf.distribute.Strategy
    info: DatasetInfo
    test_info: DatasetInfo
    validation: tf.distribute.DistributedDataset
    test: tf.distribute.DistributedDataset
    test_local: tf.data.Dataset

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.info.num_examples / self.cfg.trainer.batch_size)

    def log_inputs(self) -> None:
        """The train and test splits as the run's dataset inputs (name, digest, split, size)."""
        for info in (self.info, self.test_info):
            source = {"loader": "pipeline.data.load"} | load_arguments(self.cfg.dataset, info.split)
            digest = fingerprint(self.cfg.dataset, info.split)
            tracking.log_dataset(info.name, info.split, info.num_examples, digest, source)

    def train_iterator(self, first_epoch: int):
        """Batches of epochs `first_epoch`.. to the last, back to back, each epoch's order and
        augmentation seeded by its number (a resumed run sees what an uninterrupted one would)."""
        t = self.cfg.trainer
        ds, _ = load(
            **load_arguments(self.cfg.dataset, "train"),
            batch_size=t.batch_size,
            shuffle_seed=t.seed,
            epochs=t.epochs,
            first_epoch=first_epoch,
        )
        return iter(distribute(self.strategy, ds))


def datasets(cfg: DictConfig, strategy: tf.distribute.Strategy) -> Datasets:
    """The train split's info, and the validation and test splits (capped by `trainer.eval_steps`)."""
    t = cfg.trainer
    cap = t.eval_steps * t.batch_size if t.eval_steps else None
    _, info = load(**load_arguments(cfg.dataset, "train"), batch_size=t.batch_size)
    held_out = "validation" if cfg.dataset.validation_fraction else "test"
    validation, _ = load(**load_arguments(cfg.dataset, held_out), batch_size=t.batch_size, max_examples=cap)
    test, test_info = load(**load_arguments(cfg.dataset, "test"), batch_size=t.batch_size, max_examples=cap)
    return Datasets(cfg, strategy, info, test_info, distribute(strategy, validation), distribute(strategy, test), test)


def fingerprint(dataset: DictConfig, split: str, sample: int = 256) -> str:
    """A short digest of a split's content: its first `sample` examples as stored (no shuffle, no
    augmentation) and its size, so two runs on different data never share a digest."""
    arguments = load_arguments(dataset, split) | {"augment": False}
    batches, info = load(**arguments, shuffle_seed=None, batch_size=sample, max_examples=sample)
    digest = hashlib.sha256(f"{info.name}:{info.split}:{info.num_examples}".encode())
    for images, targets in batches.take(1).as_numpy_iterator():
        digest.update(images.tobytes())
        digest.update(targets.tobytes())
    return digest.hexdigest()[:8]


def distribute(strategy: tf.distribute.Strategy, ds: tf.data.Dataset) -> tf.distribute.DistributedDataset:
    """Shard by example: TFDS splits of small datasets are single files, too few to shard by file."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(ds.with_options(options))
