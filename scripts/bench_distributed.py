"""What synchronising replicas costs: examples/s of the default experiment (LeNet-5, our layers,
digits) trained by one process, by two worker processes on 127.0.0.1
(`trainer.strategy=multi_worker`), and by one process mirrored over two logical CPU devices
(`trainer.strategy=mirrored`), with the share of a training step an all-reduce of the
gradients takes.

Every run is the real command line (`python -m pipeline stages=[train]`) in a scratch directory;
examples/s are the medians of its history.json after the first epoch (which traces). The
all-reduce share is measured apart, under the same strategy and cluster: the time of one
all-reduce of tensors shaped like the model's trainable variables (what the optimizer sums
every step), divided by the time of a training step (the batch over the run's examples/s).

On one machine the replicas share its cores, so no speed-up is expected: two replicas do the
same arithmetic as one, plus the synchronisation; the ratios against one process show what that
synchronisation costs. A speed-up needs replicas on separate devices or machines.

    python scripts/bench_distributed.py [--epochs 5] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.tracking.server import free_ports

log = logging.getLogger("bench_distributed")
WARMUP_EPOCHS = 1  # the first epoch traces and compiles: timed, left out of the medians
REDUCTIONS = 20  # all-reduces per timed call
# Run before anything else in a child process: two logical CPU devices for MirroredStrategy.
TWO_DEVICES = (
    "import tensorflow as tf; "
    "tf.config.set_logical_device_configuration(tf.config.list_physical_devices('CPU')[0], "
    "[tf.config.LogicalDeviceConfiguration()] * 2); "
)


def cluster_envs(count: int) -> list[dict[str, str]]:
    """The environments of `count` workers of one new cluster on 127.0.0.1."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(count)]}
    return [
        {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        for i in range(count)
    ]


def run_all(commands: list[list[str]], envs: list[dict], cwd: Path) -> list[str]:
    """Run the commands at once (a cluster's workers); their standard outputs, once all ended."""
    logs = [cwd / f"process{i}.log" for i in range(len(commands))]
    processes = []
    for command, env, path in zip(commands, envs, logs):
        with open(path, "w") as out:  # a file, not a pipe: a full pipe would block a worker
            processes.append(subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE))
    try:
        errors = [p.communicate(timeout=1800)[1].decode(errors="replace") for p in processes]
    finally:
        for p in processes:
            p.kill()
    for p, error in zip(processes, errors):
        if p.returncode:
            raise RuntimeError(f"{' '.join(p.args)} failed ({p.returncode}): {error[-3000:]}")
    return [path.read_text() for path in logs]


def pipeline_command(case: str, overrides: list[str], run_dir: str) -> list[str]:
    """The command line of one process of a case."""
    arguments = ["stages=[train]", "tracking.log_model=false", "tracking.experiment=bench", *overrides]
    arguments.append(f"hydra.run.dir={run_dir}")
    if case == "mirrored":  # the CLI in a process with two logical CPU devices
        code = TWO_DEVICES + "import sys, runpy; sys.argv = ['pipeline', *sys.argv[1:]]; "
        code += "runpy.run_module('pipeline', run_name='__main__')"
        return [sys.executable, "-c", code, "trainer.strategy=mirrored", *arguments]
    strategy = "multi_worker" if case == "workers" else "default"
    return [sys.executable, "-m", "pipeline", f"trainer.strategy={strategy}", *arguments]


def train(case: str, scratch: Path, overrides: list[str]) -> list[dict]:
    """The chief's per-epoch history of one case's training run."""
    count = 2 if case == "workers" else 1
    envs = cluster_envs(count) if case == "workers" else [{**os.environ}]
    commands = [pipeline_command(case, overrides, f"{case}{i}") for i in range(count)]
    run_all(commands, [{**env, "TF_CPP_MIN_LOG_LEVEL": "2"} for env in envs], scratch)
    return json.loads((scratch / f"{case}0" / "history.json").read_text())


def allreduce_seconds(case: str, scratch: Path) -> tuple[float, float]:
    """Seconds of one all-reduce of the model's gradients, and of one of the step's loss, hits
    and count (three numbers), under the case's strategy."""
    model = scratch / f"{case}0" / "model.keras"
    command = [sys.executable, __file__, "--time-allreduce", case, "--model", str(model)]
    envs = cluster_envs(2) if case == "workers" else [{**os.environ}]
    outputs = run_all([command] * len(envs), [{**env, "TF_CPP_MIN_LOG_LEVEL": "2"} for env in envs], scratch)
    gradients, numbers = outputs[0].split()[-2:]
    return float(gradients), float(numbers)


def time_allreduces(case: str, model_path: str) -> tuple[float, float]:
    """In a child process: build the case's strategy, then time all-reduces of ones shaped like
    the model's trainable variables (summed as the optimizer sums gradients), and of a vector of
    three (the loop's per-step sums), per all-reduce."""
    import tensorflow as tf

    if case == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    import keras

    import pipeline.models  # noqa: F401  (registers the custom layers for loading)

    shapes = [v.shape for v in keras.saving.load_model(model_path).trainable_variables]
    return timed_allreduce(strategy, shapes), timed_allreduce(strategy, [(3,)])


def timed_allreduce(strategy, shapes: list) -> float:
    """Median seconds of one all-reduce of tensors of these shapes, from calls of `REDUCTIONS`."""
    import tensorflow as tf

    def replica() -> tf.Tensor:
        context = tf.distribute.get_replica_context()
        tensors = [tf.ones(shape) for shape in shapes]
        for _ in range(REDUCTIONS):  # each waits for the one before: they cannot overlap
            tensors = context.all_reduce("MEAN", tensors)
        return tf.add_n([tf.reduce_sum(t) for t in tensors])

    @tf.function
    def reduce_many() -> tf.Tensor:
        return strategy.experimental_local_results(strategy.run(replica))[0]

    reduce_many()  # trace and compile
    times = []
    for _ in range(10):
        start = time.perf_counter()
        reduce_many().numpy()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / REDUCTIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time-allreduce", choices=["workers", "mirrored"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_allreduce:
        print(*time_allreduces(args.time_allreduce, args.model))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    overrides = [f"trainer.epochs={args.epochs}", f"trainer.batch_size={args.batch}"]
    cases = {"one": "one process", "workers": "two workers on 127.0.0.1", "mirrored": "mirrored, 2 logical CPUs"}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for case, name in cases.items():
            log.info("Training: %s", name)
            history = train(case, Path(scratch), overrides)
            rate = float(np.median([h["examples_per_s"] for h in history[WARMUP_EPOCHS:]]))
            reductions = allreduce_seconds(case, Path(scratch)) if case != "one" else (0.0, 0.0)
            rows.append((name, rate, args.batch / rate, *reductions))
    log.info(
        "\nThe default experiment, batch %d, %d epochs (medians after the first)\n\n"
        "| run | examples/s | / one process | step | all-reduce: gradients | all-reduce: loss, hits, count "
        "| their share of a step |\n|---|---|---|---|---|---|---|",
        args.batch,
        args.epochs,
    )
    for name, rate, step, gradients, numbers in rows:
        share = f"{(gradients + numbers) / step:.0%}" if gradients else "none (one replica)"
        times = f"{rate:.0f} | {rate / rows[0][1]:.2f} | {step * 1e3:.1f} ms | {gradients * 1e3:.2f} ms"
        log.info("| %s | %s | %.2f ms | %s |", name, times, numbers * 1e3, share)
    log.info("The replicas share these 2 cores: no speed-up is expected; the ratios are the cost of synchronising.")


if __name__ == "__main__":
    main()
