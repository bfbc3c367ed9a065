"""MkDocs hooks: the pages that are generated, so they cannot drift from the code.

- `configuration.md`: `<!-- config-reference -->` becomes every key of the schema and every config
  group's options (`pipeline.config_reference`).
- `benchmarks.md`: `<!-- benchmark: NAME -->` becomes `docs/benchmarks/NAME.md`, the table that
  `python scripts/record_bench.py NAME` (run by `make bench`) last wrote, or a line saying it has
  not been recorded on this checkout.
- `changelog.md`: `<!-- changelog -->` becomes CHANGELOG.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline import config_reference

ROOT = Path(__file__).resolve().parents[1]


def on_page_markdown(markdown: str, page, config, files) -> str:
    markdown = markdown.replace("<!-- config-reference -->", config_reference.markdown(ROOT / "conf"))
    markdown = markdown.replace("<!-- changelog -->", (ROOT / "CHANGELOG.md").read_text().split("\n", 1)[1])
    return re.sub(r"<!-- benchmark: (\w+) -->", _benchmark, markdown)


def _benchmark(match: re.Match) -> str:
    recorded = ROOT / "docs" / "benchmarks" / f"{match.group(1)}.md"
    if recorded.exists():
        return recorded.read_text()
    command = f"python scripts/record_bench.py {match.group(1)}"
    return f"*Not recorded on this checkout: `make bench` (or `{command}`) writes it.*"
