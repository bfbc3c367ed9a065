"""Multiruns: one MLflow parent run for the sweep, a FINISHED child per job; a sweep killed halfway
resumes into the same runs."""

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.cli import all_runs, cli_env, mlflow_store, sweep_runs


@pytest.mark.slow
@pytest.mark.parametrize(
    "launcher",
    [
        ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"),
        # The submitit launcher of hydra/launcher=slurm, with local processes for SLURM tasks.
        ("hydra/launcher=submitit_local", "hydra.launcher.cpus_per_task=1"),
    ],
    ids=["joblib", "submitit"],
)
def test_a_multirun_has_a_parent_and_a_child_per_job(cli, tmp_path, launcher):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="the sweeps extra: pip install -e '.[sweeps]'")
    done = cli("-m", *launcher, "model=lenet5,linear", "debug=tiny", "stages=[train]", timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]
    parent, children = sweep_runs(tmp_path)
    assert parent.info.status == "FINISHED"
    assert sorted(c.data.params["model.name"] for c in children) == ["lenet5", "linear"]
    assert all(c.info.status == "FINISHED" for c in children)
    assert all(c.data.tags["pid"] != parent.data.tags["pid"] for c in children)  # jobs in processes of their own


def checkpointed(tmp_path) -> int:
    """The last epoch the sweep's second job checkpointed (TensorFlow's state file names it last)."""
    state = list(tmp_path.glob("multirun/*/1-*/checkpoints/checkpoint"))
    found = re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state[0].read_text()) if state else None
    return int(found.group(1)) if found else 0


SWEEP = ("-m", "model=lenet5,linear", "debug=tiny", "trainer.epochs=40", "stages=[train]")


@pytest.mark.slow
def test_a_sweep_killed_halfway_resumes_into_the_same_parent(cli, tmp_path, tfds_dir):
    """kill -9 during the second job; the same command plus sweep_resume=true skips the FINISHED
    job, resumes the other from its checkpoint into its own run, and closes the same parent."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *SWEEP],
        cwd=tmp_path,
        env=cli_env(tfds_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 400
    while checkpointed(tmp_path) < 2:
        assert process.poll() is None and time.monotonic() < deadline, "the second job never reached epoch 2"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    [sweep_dir] = tmp_path.glob("multirun/*")
    before = {r.info.run_id: r for r in all_runs(tmp_path)}
    [parent_id] = [i for i, r in before.items() if r.data.tags.get("sweep") == "true"]
    first, second = (sweep_dir / f"{n}-{m}-digits-custom" / "mlflow_run_id" for n, m in ((0, "lenet5"), (1, "linear")))
    first, second = first.read_text(), second.read_text()
    assert before[first].info.status == "FINISHED"
    assert before[second].info.status == before[parent_id].info.status == "RUNNING"  # kill -9: nobody closed them
    epochs_done = checkpointed(tmp_path)
    history = json.loads((sweep_dir / "1-linear-digits-custom" / "history.json").read_text())
    assert 2 <= epochs_done < 40 and len(history) in (epochs_done, epochs_done + 1)

    time.sleep(1)  # a new sweep directory would get a new name
    done = cli(*SWEEP, "sweep_resume=true", timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]
    assert f"continuing the sweep in multirun/{sweep_dir.name}" in done.stdout
    assert "FINISHED before" in done.stdout and f"after epoch {epochs_done}" in done.stdout
    assert "marked KILLED" in done.stdout  # the dead runs were reaped before they were reopened
    after = {r.info.run_id: r for r in all_runs(tmp_path)}
    assert set(after) == set(before)  # no new parent, no new child
    assert [p.name for p in tmp_path.glob("multirun/*")] == [sweep_dir.name]
    assert after[parent_id].info.status == "FINISHED" and "error" not in after[parent_id].data.tags
    assert after[second].info.status == "FINISHED" and "error" not in after[second].data.tags
    assert "sweep_resume" not in after[second].data.tags["mlflow.note.content"]  # the description reruns the job
    assert after[first].info.end_time == before[first].info.end_time  # not run again
    client = mlflow_store(tmp_path)
    steps = [m.step for m in client.get_metric_history(second, "val_loss")]
    # Every epoch: the resumed run went on from its checkpoint. Only the epoch in flight at the
    # kill (logged, not yet checkpointed) may be there twice.
    assert sorted(set(steps)) == list(range(1, 41))
    assert {step for step in steps if steps.count(step) > 1} <= {epochs_done + 1}
