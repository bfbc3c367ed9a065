"""How every stage publishes: its figures as PNGs in `<run dir>/<stage>/` and in MLflow under
`<stage>/`, its numbers as metrics, and one self-contained HTML report of every stage so far
(every figure embedded, each with a one-line explanation, the numbers in a table) that opens
from the MLflow UI or a file browser."""

from __future__ import annotations

import base64
import html
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline import tracking
from pipeline.drawing import Panel
from pipeline.stages import STAGES

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"
MANIFEST = "panels.json"


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
img{max-width:100%;border:1px solid #eee}p.caption{color:#555}
p.warning{background:#fff3cd;border-left:4px solid #e0a800;padding:6px 10px}
table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}"""


def section(title: str, caption: str, png: Path) -> str:
    """An <h2>, the explanation and the figure inlined as base64 (and its animation, if any)."""
    images = [png] + [gif for gif in [png.with_suffix(".gif")] if gif.exists()]
    tags = [
        f"<img alt='{html.escape(title)}' src='data:image/{p.suffix[1:]};base64,"
        f"{base64.b64encode(p.read_bytes()).decode('ascii')}'>"
        for p in images
    ]
    return f"<h2>{html.escape(title)}</h2>\n<p class='caption'>{html.escape(caption)}</p>\n" + "\n".join(tags)


def metrics_table(metrics: Mapping[str, float]) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td></tr>" for k, v in sorted(metrics.items()))
    return f"<h2>Numbers</h2>\n<table><tr><th>metric</th><th>value</th></tr>{rows}</table>" if metrics else ""


def write(path: Path, title: str, intro: str, sections: Sequence[str], metrics: Mapping[str, float]) -> Path:
    """Write the page to `path` (sections from `section`, in order) and return it."""
    body = "\n".join(
        [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(intro)}</p>", *sections, metrics_table(metrics)]
    )
    path.write_text(
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
    return path


def save(run_dir: Path, stage: str, panels: Sequence[Panel]) -> Path:
    """Save the panels' figures (and close them) in `run_dir/stage`, which it returns; a stage
    with many figures saves each method's as it goes."""
    STAGES.check(stage)
    folder = run_dir / stage
    folder.mkdir(exist_ok=True)
    for panel in panels:
        panel.save(folder)
    return folder


def publish(
    run_dir: Path,
    stage: str,
    panels: Sequence[Panel],
    metrics: Mapping[str, float],
    series: Mapping[str, Mapping[int, float]] | None = None,
    warnings: Sequence[str] = (),
) -> Path:
    """Save a stage's figures and manifest under `run_dir/stage`, log them, the metrics and the
    metric `series` ({name: {step: value}}) to the active MLflow run, and (re)write the report,
    `warnings` (one line each) at its top. Returns the report's path."""
    folder = save(run_dir, stage, panels)
    entries = [{"name": p.name, "caption": p.caption} for p in panels]
    manifest = {"panels": entries, "metrics": dict(metrics), "warnings": list(warnings)}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    report = build(run_dir)
    tracking.log_artifacts(folder, stage)
    tracking.log_metrics(metrics)
    tracking.log_series(series or {})
    tracking.log_artifacts(report)
    log.info("%s: %d figures in %s; report %s", stage, len(panels), folder, report)
    return report


def build(run_dir: Path) -> Path:
    """The report from the manifest of every stage that has published, in the stages' order."""
    manifests = {s: run_dir / s / MANIFEST for s in STAGES if (run_dir / s / MANIFEST).exists()}
    sections, numbers, warnings = [], {}, []
    for stage, manifest in manifests.items():
        content = json.loads(manifest.read_text())
        warnings += [f"{stage}: {line}" for line in content.get("warnings", [])]
        sections += [
            section(p["name"].replace("_", " "), p["caption"], run_dir / stage / f"{p['name']}.png")
            for p in content["panels"]
        ]
        numbers |= content["metrics"]
    intro = f"Run {run_dir.name}: {', '.join(manifests)}."
    return write(run_dir / REPORT_FILE, "Inside the network", intro, warning_lines(warnings) + sections, numbers)


def warning_lines(warnings: Sequence[str]) -> list[str]:
    """The stages' warnings as one highlighted paragraph each (none: nothing)."""
    return [f"<p class='warning'>Warning: {html.escape(line)}</p>" for line in warnings]
