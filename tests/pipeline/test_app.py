"""The app in process, on a composed and shrunken config (the template's habit): training under
each strategy and the run recorded, without a subprocess; then the checks that guard it (the CLI
tests run every stage once, through the command line)."""

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from pipeline import app
from pipeline.errors import UserError
from pipeline.stages import Stage
from tests.cli import mlflow_store

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture
def tiny_cfg(tmp_path, tfds_dir, composed):
    """The default experiment shrunk: one short epoch, one method per stage, outputs in tmp_path."""
    overrides = [
        "debug=tiny",
        "trainer.deterministic=false",  # op determinism is process-wide: leave the other tests alone
        f"dataset.data_dir={tfds_dir}",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        "tracking.experiment=in_process",
        "visualize.methods=[saliency,receptive_field]",
    ]
    cfg = app.resolved(composed(*overrides))
    (tmp_path / "run").mkdir()
    return cfg, overrides


def test_mirrored_over_two_devices_trains_a_whole_epoch_to_the_weights_of_one_device(
    tiny_cfg, tmp_path, monkeypatch, mirrored_strategy
):
    """conftest gives this process two logical CPUs: `trainer.strategy=mirrored` splits every
    batch over two replicas (the optimizer's slots are mirrored variables) and must end where one
    device does. The process's one MirroredStrategy stands in for the one the app would make."""
    import keras

    made = app.make_strategy
    monkeypatch.setattr(app, "make_strategy", lambda name: mirrored_strategy if name == "mirrored" else made(name))
    cfg, overrides = tiny_cfg
    cfg.stages, cfg.trainer.steps_per_epoch = ["train"], None
    found = {}
    for strategy in ("default", "mirrored"):
        cfg.trainer.strategy = strategy
        (tmp_path / strategy).mkdir()
        value = app.run(cfg, tmp_path / strategy, overrides)  # the sweep objective: the task's own metric
        assert 0.0 <= value <= 1.0 and cfg.optimized_metric is None
        found[strategy] = keras.saving.load_model(tmp_path / strategy / "model.keras").get_weights()
    assert mirrored_strategy.num_replicas_in_sync == 2
    for mirrored, alone in zip(found["mirrored"], found["default"]):
        np.testing.assert_allclose(mirrored, alone, rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # two runs
def test_a_null_seed_is_drawn_recorded_and_kept_on_resume(tiny_cfg, tmp_path):
    cfg, overrides = tiny_cfg
    cfg.trainer.seed = None
    cfg.stages = ["train"]
    cfg.trainer.steps_per_epoch = None
    app.run(cfg, tmp_path / "run", overrides)
    drawn = int((tmp_path / "run" / "seed").read_text())
    [run] = mlflow_store(tmp_path).search_runs(
        [mlflow_store(tmp_path).get_experiment_by_name("in_process").experiment_id]
    )
    assert run.data.params["trainer.seed"] == str(drawn)
    from pipeline.training import resolve_seed

    assert resolve_seed(None, tmp_path / "run") == drawn  # what a resumed run reads back
    assert resolve_seed(5, tmp_path / "run") == 5


@pytest.mark.parametrize(
    "change",
    [{"trainer": {"epochs": -1}}, {"model": {"options": {"wdth": 3}}}, {"model": {"name": "alexnet"}}],
    ids=["epochs", "unknown option", "input too small"],
)
def test_bad_values_are_refused_before_anything_runs(tiny_cfg, tmp_path, change):
    cfg, overrides = tiny_cfg
    cfg = OmegaConf.merge(cfg, change)
    with pytest.raises(SystemExit) as exited:
        app.run(cfg, tmp_path / "run", overrides)
    assert exited.value.code == 2 and not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(
    "error",
    [UserError("the photos folder is empty"), ValueError("a bug in our code"), KeyError("a bug in Keras")],
    ids=["user error", "ValueError", "KeyError"],
)
def test_a_user_error_ends_in_one_line_and_a_bug_keeps_its_traceback(tiny_cfg, tmp_path, monkeypatch, caplog, error):
    """Only `UserError` becomes one line and exit code 2; any other exception, a ValueError from a
    library included, propagates (Hydra prints its traceback, exit code 1). Both mark the run FAILED."""
    cfg, overrides = tiny_cfg
    cfg.stages = ["train"]

    def fail(stage, context):
        raise error

    monkeypatch.setattr(Stage, "run", fail)
    if isinstance(error, UserError):
        with pytest.raises(SystemExit) as exited:
            app.run(cfg, tmp_path / "run", overrides)
        assert exited.value.code == 2
        assert caplog.records[-1].getMessage() == "the photos folder is empty"
    else:
        with pytest.raises(type(error)):
            app.run(cfg, tmp_path / "run", overrides)
    [run] = mlflow_store(tmp_path).search_runs(
        [mlflow_store(tmp_path).get_experiment_by_name("in_process").experiment_id]
    )
    assert run.info.status == "FAILED"


@pytest.mark.parametrize(
    "override, message",
    [
        ({"adversarial.autoattack.norm": "1"}, "adversarial.autoattack.norm must be inf or 2, got 1"),
        ({"adversarial.autoattack.version": "full"}, "unknown adversarial.autoattack.version 'full'"),
        ({"dataset.budgets": {"inf": 0.1}, "adversarial.autoattack.norm": "2"}, "names no budget for norm 2"),
        (
            {"adversarial.autoattack.settings": {"fab": {"steps": 2}}},
            r"settings names \['fab'\]; known: apgd-ce, apgd-t, fab-t, square",
        ),
        (
            {"visualize.faithfulness.deletion_baseline": "grey"},
            "deletion_baseline must be one of blur, mean, zero, got grey",
        ),
        (
            {"visualize.faithfulness.mufidelity_score": "odds"},
            "mufidelity_score must be one of probability, logit, got odds",
        ),
        (
            {"visualize.faithfulness.correlation": "kendall"},
            "correlation must be one of pearson, spearman, got kendall",
        ),
        ({"visualize.faithfulness.subset": 1.0}, r"subset must be in \(0, 1\), got 1.0"),
        ({"visualize.faithfulness.samples": 1}, "samples must be >= 2"),
        (
            {"visualize.faithfulness.methods": ["lime"]},
            "unknown visualize.faithfulness.methods 'lime'; known: .*saliency",
        ),
    ],
)
def test_bad_autoattack_and_faithfulness_settings_are_refused_in_one_line(tiny_cfg, override, message):
    cfg, _ = tiny_cfg
    for key, value in override.items():
        OmegaConf.update(cfg, key, value, merge=False)
    with pytest.raises(ValueError, match=message):
        app.check(cfg)


@pytest.mark.parametrize(
    "interruption, status",
    [("sigterm", "KILLED"), ("sigterm wrapped by library code", "KILLED"), ("error", "FAILED")],
)
def test_the_run_closes_as_killed_only_when_a_signal_ended_it(tiny_cfg, tmp_path, interruption, status):
    """A SIGTERM arriving inside code that turns it into another exception still closes the run KILLED."""
    import os
    import signal
    import time

    from pipeline import tracking
    from pipeline.tracking.run import _Killed

    cfg, overrides = tiny_cfg
    before = signal.getsignal(signal.SIGTERM)
    expected_errors = (ValueError, RuntimeError, _Killed)
    with pytest.raises(expected_errors), tracking.tracked_run(cfg, tmp_path / "run", overrides):
        if interruption == "error":
            raise ValueError("a bug")
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises here
        except BaseException as error:
            if interruption.endswith("wrapped by library code"):
                raise RuntimeError("wrapped") from error
            raise
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back
    [run] = mlflow_store(tmp_path).search_runs(
        [mlflow_store(tmp_path).get_experiment_by_name("in_process").experiment_id]
    )
    assert run.info.status == status
    expected = "killed by signal SIGTERM" if status == "KILLED" else "ValueError: a bug"
    assert run.data.tags["error"] == expected
