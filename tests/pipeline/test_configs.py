"""Every option of every config group composes against the schema and names something that exists."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipeline.app import STAGES
from pipeline.config import register
from pipeline.data import OFFLINE_BUILDERS, REAL_DATASETS
from pipeline.models import ARCHITECTURES, build_model
from tests.models.helpers import SMALL

CONF = Path(__file__).resolve().parents[2] / "conf"
register()


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.fixture
def composed():
    def make(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=list(overrides))

    yield make
    GlobalHydra.instance().clear()


def test_default_is_lenet5_on_digits_with_our_layers(composed):
    cfg = composed()
    assert (cfg.model.name, cfg.dataset.name, cfg.layers.impl, tuple(cfg.stages)) == ("lenet5", "digits", "custom", STAGES)


@pytest.mark.parametrize("model", options("model"))
def test_every_model_option_builds(composed, model):
    cfg = composed(f"model={model}")
    assert cfg.model.name in ARCHITECTURES
    shape, small = SMALL[cfg.model.name]
    build_model(cfg.model.name, shape, 3, **{**small, **cfg.model.options})


@pytest.mark.parametrize("dataset", options("dataset"))
def test_every_dataset_option_names_a_dataset(composed, dataset):
    cfg = composed(f"dataset={dataset}")
    assert cfg.dataset.name in {*OFFLINE_BUILDERS, *REAL_DATASETS}


@pytest.mark.parametrize("group", ["layers", "optimizer", "trainer", "tracking", "debug"])
def test_every_option_of_the_other_groups_composes(composed, group):
    for option in options(group):
        cfg = composed(f"{group}={option}")
        OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize("optimizer", options("optimizer"))
def test_every_optimizer_is_made(composed, optimizer):
    from pipeline.train import make_optimizer

    cfg = composed(f"optimizer={optimizer}", "optimizer.schedule=cosine")
    assert make_optimizer(OmegaConf.create(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)), 10) is not None


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_builds_its_model_for_its_data(composed, experiment):
    cfg = composed(f"experiment={experiment}")
    shapes = {"digits": (32, 32, 1), "bars": (32, 32, 1), "shapes": (64, 64, 3), "signals": (128, 1), "cifar10": (32, 32, 3)}
    build_model(cfg.model.name, shapes[cfg.dataset.name], 4, **cfg.model.options)


@pytest.mark.parametrize(
    "override",
    ["trainer.epoch=3", "trainer.epochs=many", "trainer.strategy=tpu_pod", "optimizer.schedule=linear", "model=resnet101"],
)
def test_typos_and_wrong_types_fail_at_composition(composed, override):
    with pytest.raises(Exception) as raised:
        composed(override)
    assert isinstance(raised.value, (ConfigCompositionException, MissingConfigException, OmegaConfBaseException))
