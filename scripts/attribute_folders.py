"""Write a synthetic attribute for deep feature interpolation: shape images without a triangle
(`without/`), with one (`with/`), and a few more without to edit (`edit/`), as PNG files.

    python scripts/attribute_folders.py /tmp/triangles --size 128
    python -m pipeline experiment=pretrained_vgg16 visualize.methods=[feature_interpolation] \\
        dataset.data_dir=/tmp/triangles/edit dataset.image_size=[128,128] \\
        visualize.interpolation.source_dir=/tmp/triangles/without \\
        visualize.interpolation.target_dir=/tmp/triangles/with
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.data import triangle_sets

log = logging.getLogger("attribute_folders")


def write(folder: Path, images: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder that receives without/, with/ and edit/")
    parser.add_argument("--count", type=int, default=100, help="images in each of without/ and with/")
    parser.add_argument("--edit", type=int, default=4, help="images in edit/")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    without, with_ = triangle_sets(args.count + args.edit, args.size, args.seed)
    write(args.out / "without", without[: args.count])
    write(args.out / "with", with_[: args.count])
    write(args.out / "edit", without[args.count :])
    log.info("wrote %d + %d + %d images under %s", args.count, args.count, args.edit, args.out)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
