"""`python -m pipeline` (or `convnet-pipeline`): the Hydra entry point.

Composition and the schema check happen here, before TensorFlow or MLflow is imported.
"""

from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

from pipeline.config import Config
from pipeline.console import filter_native_noise


def config_dir() -> str:
    """`conf/`: inside the package when installed from the wheel, beside it in a checkout."""
    here = Path(__file__).resolve().parent
    installed, checkout = here / "conf", here.parent / "conf"
    return str(installed if (installed / "config.yaml").exists() else checkout)


# The root schema: `conf/config.yaml` lists it first, so every group's YAML is merged into, and
# checked against, the dataclasses of `pipeline.config`.
ConfigStore.instance().store(name="schema", node=Config)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(cfg: DictConfig) -> float | None:
    from pipeline.app import main as run  # deferred: TensorFlow and MLflow load after composition succeeds

    return run(cfg)


def cli() -> None:
    """The console script: TensorFlow's native noise filtered from stderr, then Hydra."""
    filter_native_noise()
    main()


if __name__ == "__main__":
    cli()
