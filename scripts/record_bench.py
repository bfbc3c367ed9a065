"""Run a benchmark script and record what it printed for the documentation's Benchmarks page.

    python scripts/record_bench.py bench_data            # runs scripts/bench_data.py
    python scripts/record_bench.py bench_layers --only Maxout

The script's standard output (its tables; its log lines go to standard error) streams to the
terminal as it runs and is written, with the command, the
date, the machine (CPU model, cores, memory) and the library versions, to
`docs/benchmarks/<name>.md`, which the site's Benchmarks page includes (`make bench` records
every benchmark; nobody copies numbers by hand).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("tensorflow", "keras", "numpy", "mlflow", "torch", "adversarial-robustness-toolbox", "pyautoattack")


def machine() -> str:
    """CPU model, cores and memory of this machine, in one line."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        model = names[0] if names else model
    memory = psutil.virtual_memory().total / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB"


def versions() -> str:
    found = [f"Python {platform.python_version()}"]
    for name in LIBRARIES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


NOISE = ("I0000", "W0000", "E0000", "WARNING:", "Downloading", "Dataset ", "Generating", "Constructing", "Creating")
NOISE_WORDS = ("triggered tf.function retracing", "Success rate of attack", "ART_DATA_PATH", "No config specified")
NOISE_WORDS += ("Variant folder", "Preparing ", "Subsequent calls will reuse", "round ", "Load dataset info")


def _noise(line: str) -> bool:
    return line.startswith(NOISE) or any(word in line for word in NOISE_WORDS)


def tables(lines: list[str]) -> list[str]:
    """The Markdown tables among the output's lines: each from its header (a row followed by
    `|---`) to the next header, its rows kept even when log lines come between them, after its
    title (the nearest line above the header, across one blank line) and before its summary (the
    lines right below its last row, up to a blank line); separated by blank lines."""
    headers = [i for i in range(len(lines) - 1) if lines[i].startswith("|") and lines[i + 1].startswith("|---")]
    kept = []
    for n, start in enumerate(headers):
        end = headers[n + 1] if n + 1 < len(headers) else len(lines)
        rows = [i for i in range(start, end) if lines[i].startswith("|")]
        above = [text.strip() for text in lines[max(start - 2, 0) : start] if text.strip()]
        title = above[-1] if above and not above[-1].startswith("|") and not _noise(above[-1]) else ""
        summary = []
        for line in lines[rows[-1] + 1 : end]:
            if not line.strip() or line.startswith("|") or _noise(line) or line == title:
                break
            summary.append(line)
        kept += ["", title, ""] if title and title not in kept[-3:] else [""]
        kept += [lines[i] for i in rows] + (["", *summary] if summary else [])
    return kept


def record(name: str, args: list[str]) -> Path:
    """Run scripts/<name>.py with `args`, echo its output, write docs/benchmarks/<name>.md."""
    command = [sys.executable, str(ROOT / "scripts" / f"{name}.py"), *args]
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT) as run:
        for line in run.stdout:
            sys.stdout.write(line)
            lines.append(line.rstrip())
    if run.returncode:
        raise SystemExit(f"{name} failed (exit code {run.returncode}); nothing recorded")
    shown = shlex.join(["python", f"scripts/{name}.py", *args])
    out = ROOT / "docs" / "benchmarks" / f"{name}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        f"<!-- written by `python scripts/record_bench.py {shlex.join([name, *args])}`; do not edit -->\n"
        f"Command `{shown}`, run {datetime.date.today().isoformat()} on {machine()}; {versions()}.\n\n"
        + "\n".join(tables(lines))
        + "\n"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a script of scripts/ without .py, e.g. bench_data")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed on to the script")
    options = parser.parse_args()
    print(f"recorded in {record(options.name, options.args)}")


if __name__ == "__main__":
    main()
