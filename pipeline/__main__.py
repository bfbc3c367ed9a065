"""`python -m pipeline` (or `convnet-pipeline`): the Hydra entry point.

Composition and the schema check happen here, before TensorFlow or MLflow is imported.
"""

import hydra
from omegaconf import DictConfig

from pipeline.config import register

register()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from pipeline.app import main as run

    return run(cfg)


if __name__ == "__main__":
    main()
