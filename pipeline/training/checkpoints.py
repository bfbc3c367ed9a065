"""Model, optimizer and history after every epoch, and the seed a run drew, so a run can resume
where it stopped with the weights an uninterrupted run would have."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from pipeline.errors import UserError

log = logging.getLogger(__name__)

HISTORY_FILE = "history.json"  # in the run directory: one dict of metrics per finished epoch
SEED_FILE = "seed"  # in the run directory: the seed drawn for trainer.seed=null, read again on resume


class CheckpointMismatchError(RuntimeError, UserError):
    """The workers of a resumed run hold no checkpoint of the same epoch."""


@dataclass
class Checkpoints:
    """Model, optimizer and history after every epoch, in `<run dir>/checkpoints`. `gather`:
    under several workers, every worker's value of a number (`strategies.gathering`): they
    resume from the last epoch all of them hold (a worker killed while the others saved lags
    one epoch behind)."""

    directory: Path
    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    gather: Callable[[float], list[float]] | None = None

    def __post_init__(self):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, epoch=self.epoch)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory / "checkpoints"), max_to_keep=2)

    def restore(self) -> tuple[int, list[dict]]:
        """The number of completed epochs and their history (0 and [] when starting fresh)."""
        latest = self._agreed(self.manager.latest_checkpoint)
        if latest is None:
            return 0, []
        self.optimizer.build(self.model.trainable_variables)  # so its slots exist to restore into
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        history = json.loads((self.directory / HISTORY_FILE).read_text())
        done = int(self.epoch.numpy())
        log.info("Resuming from %s after epoch %d", latest, done)
        return done, history[:done]

    def _agreed(self, latest: str | None) -> str | None:
        """`latest`, or under several workers the checkpoint of the last epoch all of them hold."""
        if self.gather is None:
            return latest
        epoch = int(min(self.gather(int(latest.rsplit("-", 1)[1]) if latest else 0)))
        held = {int(path.rsplit("-", 1)[1]): path for path in self.manager.checkpoints}
        if epoch and epoch not in held:
            raise CheckpointMismatchError(
                f"The workers' last common epoch is {epoch} and {self.directory} no longer holds its checkpoint: "
                "resume every worker from the run directories of the same run."
            )
        return held.get(epoch)

    def save(self, epoch: int, history: list[dict]) -> None:
        """The history first (whole or not at all), then the checkpoint: a process killed between
        the two leaves a history one epoch ahead, which `restore` cuts to the checkpoint's."""
        staged = self.directory / f"{HISTORY_FILE}.tmp"
        staged.write_text(json.dumps(history, indent=1))
        staged.replace(self.directory / HISTORY_FILE)
        self.epoch.assign(epoch)
        self.manager.save(checkpoint_number=epoch)


def resolve_seed(seed: int | None, run_dir: Path) -> int:
    """`trainer.seed`, or for null one drawn at random: recorded in the run directory (and so in
    the run's params), and read back when the run resumes, so it ends with the weights an
    uninterrupted run would have."""
    if seed is not None:
        return int(seed)
    recorded = run_dir / SEED_FILE
    if recorded.exists():
        return int(recorded.read_text())
    drawn = random.SystemRandom().randrange(2**31)
    recorded.write_text(str(drawn))
    log.info("trainer.seed=null: drew seed %d (recorded as trainer.seed and in %s)", drawn, recorded)
    return drawn
