"""Every option of every config group composes against the schema, holds what its file says, and
names something that exists; names are checked against their registries."""

import re
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipeline.app import check, resolved
from pipeline.data import OFFLINE_BUILDERS, PHOTOS, REAL_DATASETS
from pipeline.models import ARCHITECTURES, build_model
from pipeline.registry import UnknownNameError
from pipeline.stages import default_stages
from tests.models.helpers import SMALL

CONF = Path(__file__).resolve().parents[2] / "conf"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_default_is_lenet5_on_digits_with_our_layers(composed):
    cfg = composed()
    assert (cfg.model.name, cfg.dataset.name, cfg.layers.impl) == ("lenet5", "digits", "custom")
    assert cfg.stages is None  # every stage, in the registry's order
    assert list(resolved(cfg).stages) == ["train", "visualize", "adversarial", "detect"] == default_stages()


@pytest.mark.parametrize("model", options("model"))
def test_every_model_option_builds(composed, model):
    cfg = composed(f"model={model}")
    assert cfg.model.name in ARCHITECTURES
    shape, small = SMALL[cfg.model.name]
    build_model(cfg.model.name, shape, 3, **{**small, **cfg.model.options})


@pytest.mark.parametrize("dataset", options("dataset"))
def test_every_dataset_option_names_a_dataset(composed, dataset):
    cfg = composed(f"dataset={dataset}")
    assert cfg.dataset.name in {*OFFLINE_BUILDERS, *REAL_DATASETS, PHOTOS}


def _leaves(node, prefix=""):
    """{"a.b": value} for every leaf of a nested mapping."""
    if not isinstance(node, dict):
        return {prefix: node}
    return (
        {k: v for key, value in node.items() for k, v in _leaves(value, f"{prefix}{key}.").items()}
        if node
        else {prefix: node}
    )


@pytest.mark.parametrize("group", ["layers", "optimizer", "debug", "experiment"])
def test_every_option_of_the_other_groups_holds_what_its_file_says(composed, group):
    for option in options(group):
        written = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"))
        cfg = OmegaConf.to_container(composed(f"{group}={option}"), resolve=True, enum_to_str=True)
        written.pop("defaults", None)
        written.pop("hydra", None)  # the launcher's and sweeper's settings: Hydra's own config
        if group not in ("debug", "experiment"):  # presets are `# @package _global_`: their keys start at the root
            written = {group: written}
        for key, value in _leaves(written).items():
            node = cfg
            for part in key.rstrip(".").split("."):
                node = node[part]
            assert node == value, f"{group}={option}: {key} is {node!r}, the file says {value!r}"


@pytest.mark.parametrize("optimizer", options("optimizer"))
def test_every_optimizer_is_made_as_its_file_says(composed, optimizer):
    import keras

    from pipeline.training import OPTIMIZERS, make_optimizer

    cfg = composed(f"optimizer={optimizer}", "optimizer.schedule=cosine")
    settings = OmegaConf.create(OmegaConf.to_container(cfg.optimizer, resolve=True))
    made = make_optimizer(settings, steps_per_epoch=10, epochs=2)
    assert type(made) is OPTIMIZERS[settings.name]
    assert float(made.learning_rate) == pytest.approx(settings.lr)  # step 0 of the cosine: the peak
    made.iterations.assign(20)
    assert float(made.learning_rate) == pytest.approx(0.0, abs=1e-7)  # its last step: decayed to 0
    if settings.momentum is not None:
        assert made.momentum == pytest.approx(settings.momentum)
    wrapped = make_optimizer(settings, 10, 2, precision="mixed_float16")
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer) and type(wrapped.inner_optimizer) is type(made)


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_builds_its_model_for_its_data(composed, experiment):
    cfg = composed(f"experiment={experiment}")
    shapes = {
        "digits": (32, 32, 1),
        "digit_canvas": (32, 32, 1),
        "bars": (32, 32, 1),
        "shapes": (64, 64, 3),
        "signals": (128, 1),
        "cifar10": (32, 32, 3),
        "photos": (*(cfg.dataset.image_size or (224, 224)), 3),
    }
    shape = (2, *shapes[cfg.dataset.name]) if cfg.dataset.target == "pair" else shapes[cfg.dataset.name]
    build_model(cfg.model.name, shape, 4, **cfg.model.options)  # the architecture, not the weights


@pytest.mark.parametrize(
    "override", ["trainer.epoch=3", "trainer.epochs=many", "trainer.precision=float8", "model=resnet200"]
)
def test_typos_and_wrong_types_fail_at_composition(composed, override):
    with pytest.raises(Exception) as raised:
        composed(override)
    assert isinstance(raised.value, (ConfigCompositionException, MissingConfigException, OmegaConfBaseException))


@pytest.mark.parametrize(
    "override, message",
    [
        ("optimizer.schedule=linear", "unknown optimizer.schedule 'linear'; known: constant, cosine, step, one_cycle"),
        ("optimizer.name=adamm", "unknown optimizer.name 'adamm'; known: adam, adamw, sgd"),
        ("trainer.strategy=tpu_pod", "unknown trainer.strategy 'tpu_pod'; known: default, mirrored, multi_worker"),
        ("stages=[train,xray]", "unknown stage 'xray'; known: train, visualize, adversarial"),
        ("visualize.methods=[saliency,xray]", "unknown visualize.methods 'xray'; known: "),
        ("trainer.adversarial.attack=deepfool", "unknown trainer.adversarial.attack 'deepfool'; known: fgsm, pgd, bim"),
        ("layers.impl=jax", "unknown layers.impl 'jax'; known: custom, keras"),
        ("dataset.target=pairs", "unknown dataset.target 'pairs'; known: label, mask, image, pair"),
    ],
)
def test_names_are_checked_against_their_registry(composed, override, message):
    cfg = resolved(composed(override))
    with pytest.raises(UnknownNameError) as raised:
        check(cfg)
    assert str(raised.value).startswith(message), raised.value


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model=siamese"], "dataset.target=pair and model=siamese go together (got target label, model siamese)"),
        (["dataset.target=pair"], "dataset.target=pair and model=siamese go together (got target pair, model lenet5)"),
        (["experiment=siamese_digits", "stages=[train,adversarial]"], "not pairs: stages=[train]"),
        (["dataset.train_examples=0"], "dataset.train_examples must be >= 1 (or null: all), got 0"),
        (["optimizer.lr=nan"], "optimizer.lr must be a number > 0, got nan"),
        (["optimizer.lr=inf"], "optimizer.lr must be a number > 0, got inf"),
        (["optimizer.lr=0"], "optimizer.lr must be a number > 0, got 0.0"),
    ],
)
def test_settings_that_cannot_go_together_say_so(composed, overrides, message):
    cfg = resolved(composed(*overrides))
    with pytest.raises(ValueError, match=re.escape(message)):
        check(cfg)


def schema_defaults() -> dict:
    """The schema's value of every setting (MISSING: `???`), by dotted name."""
    from pipeline.config import Config

    leaves = _leaves(OmegaConf.to_container(OmegaConf.structured(Config), enum_to_str=True))
    return {key.rstrip("."): value for key, value in leaves.items()}


OURS = sorted(p for p in CONF.rglob("*.yaml") if p.parent.name != "launcher" and p.parent.name != "sweeper")


@pytest.mark.parametrize("path", OURS, ids=lambda p: str(p.relative_to(CONF)))
def test_no_file_repeats_a_value_it_would_have_anyway(path, composed):
    """Each value is written once: the schema (`pipeline/config.py`) holds every default, an
    option file only what differs from it, and a preset (`experiment=`, `debug=`) only what
    differs from the config it is applied to (its own choices of model, dataset, ... made). A
    setting that names a choice (`dataset.name`) is MISSING in the schema and set by its file."""
    written = OmegaConf.to_container(OmegaConf.load(path))
    listed = [item for item in written.pop("defaults", []) if isinstance(item, dict)]
    choices = [f"{key.split('/')[-1]}={value}" for item in listed for key, value in item.items()]
    written.pop("hydra", None)
    group = path.parent.name
    if group in ("debug", "experiment"):  # `# @package _global_`: against the config it changes
        base = OmegaConf.to_container(composed(*choices), resolve=True, enum_to_str=True)
        anyway = {key.rstrip("."): value for key, value in _leaves(base).items()}
    else:
        written = written if group == "conf" else {group: written}
        anyway = schema_defaults()
    leaves = {key.rstrip("."): value for key, value in _leaves(written).items()}
    repeated = [key for key, value in leaves.items() if key in anyway and anyway[key] == value]
    assert repeated == []


def test_the_schema_leaves_only_choices_unset():
    unset = sorted(key for key, value in schema_defaults().items() if value == "???")
    assert unset == ["dataset.name", "layers.impl", "model.name", "optimizer.lr", "optimizer.name"]
