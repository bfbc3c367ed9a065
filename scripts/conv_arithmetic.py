"""Animated GIFs of convolution arithmetic, made by our own ops: valid, half and full padding,
stride 2 (with and without padding, with an odd leftover), dilation 2, and the transposed
convolution of each. Each frame shows the input window, the kernel weight on each of its cells,
and the sum that fills the output cell.

    python scripts/conv_arithmetic.py [--out docs/conv_arithmetic]
"""

import argparse
import logging
from pathlib import Path

from pipeline.visualize.conv_arithmetic import write_gifs

log = logging.getLogger("conv_arithmetic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/conv_arithmetic"), help="folder for the GIFs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in write_gifs(args.out):
        log.info("wrote %s", path)


if __name__ == "__main__":
    main()
