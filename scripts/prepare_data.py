"""Prepare datasets into a TFDS data_dir, e.g. on a connected machine before copying it offline.

    python scripts/prepare_data.py mnist cifar10 --data-dir /data/tfds
    python scripts/prepare_data.py bars --option image_size=64 --option noise=0.1

Prints where each dataset landed; exits 2 with the reason when one cannot be prepared.
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys

from pipeline.data import DatasetNotPreparedError, source

log = logging.getLogger("prepare_data")


def parse_option(text: str) -> tuple[str, object]:
    """`key=value`, the value read as a Python literal when it is one (64, 0.1), else a string."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", help="TFDS or offline dataset names")
    parser.add_argument("--data-dir", default=None, help="TFDS data_dir (default: TFDS's own)")
    parser.add_argument("--option", action="append", type=parse_option, default=[], help="generator option key=value")
    parser.add_argument("--no-download", action="store_true", help="never download; fail if not prepared")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    for name in args.names:
        try:
            prepared = source.builder(
                name, data_dir=args.data_dir, options=dict(args.option), download=not args.no_download
            )
        except (DatasetNotPreparedError, ValueError) as error:
            log.error("%s", error)
            return 2
        splits = ", ".join(f"{s}: {i.num_examples}" for s, i in prepared.info.splits.items())
        log.info("%s ready in %s (%s)", name, prepared.data_path, splits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
