"""The configuration reference, generated so it cannot drift from the code: every key of the schema
(`pipeline.config`) with its type, its default and the comment that explains it there, and every
config group's options with the first comment line of their file under `conf/`.

The documentation site renders it (`docs/hooks.py`); `python -m pipeline.config_reference`
prints the same Markdown.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from omegaconf import MISSING

from pipeline import config

SOURCE = Path(config.__file__)
GROUPS_SHOWN = ("dataset", "model", "layers", "optimizer", "experiment", "debug", "hydra/launcher", "hydra/sweeper")


@dataclass(frozen=True)
class Key:
    """One setting: its dotted name, type, default (as written on the command line) and meaning."""

    name: str
    type: str
    default: str
    meaning: str


@functools.cache
def _parsed() -> tuple[list[str], dict[int, str], dict[str, ast.ClassDef]]:
    """The schema's source lines, its comments by line number and its classes by name, read once."""
    source = SOURCE.read_text()
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    comments = {t.start[0]: t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT}
    classes = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}
    return source.splitlines(), comments, classes


def _meaning(comments: dict[int, str], node: ast.AST, lines: list[str]) -> str:
    """The comment ending the field's last line, else the comment lines right above it."""
    trailing = comments.get(node.end_lineno, "")
    trailing = trailing.removeprefix("fmt: skip").strip().lstrip("#").strip()
    above, line = [], node.lineno - 1
    while line >= 1 and lines[line - 1].strip().startswith("#"):
        above.insert(0, comments[line])
        line -= 1
    return " ".join(part for part in (" ".join(above), trailing) if part)


def _default(field: dataclasses.Field) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return MISSING


def _shown(value: object) -> str:
    if value == MISSING:
        return "(set by the group's option)"
    if isinstance(value, enum.Enum):
        return value.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("'", "")


def keys(schema: type = config.Config, prefix: str = "") -> list[Key]:
    """Every leaf key of `schema` (nested sections flattened into dotted names), in source order."""
    lines, comments, classes = _parsed()
    fields = {f.name: f for f in dataclasses.fields(schema)}
    found = []
    for node in classes[schema.__name__].body:
        if not isinstance(node, ast.AnnAssign):
            continue
        name, field = node.target.id, fields[node.target.id]
        default = _default(field)
        if dataclasses.is_dataclass(default):
            found += keys(type(default), f"{prefix}{name}.")
            continue
        found.append(Key(prefix + name, ast.unparse(node.annotation), _shown(default), _meaning(comments, node, lines)))
    return found


def sections(schema: type = config.Config) -> dict[str, str]:
    """Top-level section -> the comment on its dataclass (what the section is for)."""
    _, comments, classes = _parsed()
    found = {}
    for field in dataclasses.fields(schema):
        default = _default(field)
        if dataclasses.is_dataclass(default):
            found[field.name] = comments.get(classes[type(default).__name__].lineno, "")
    return found


def options(conf: Path, group: str) -> dict[str, str]:
    """A config group's options -> the comment opening each file (its summary; an indented
    comment line, the command that runs it, ends it)."""
    found = {}
    for path in sorted((conf / group).glob("*.yaml")):
        summary = []
        for line in path.read_text().splitlines():
            if not line.startswith("#") or line.startswith("#  "):
                break
            if "@package" not in line:
                summary.append(line.lstrip("#").strip())
        found[path.stem] = " ".join(summary)
    return found


def markdown(conf: Path) -> str:
    """The reference as Markdown: the groups and their options, then one table per section."""
    out = [
        "## Config groups",
        "",
        "Pick one option per group on the command line, e.g. `dataset=cifar10 model=resnet20`.",
        "",
    ]
    for group in GROUPS_SHOWN:
        out += [f"### `{group}`", "", "| option | what it is |", "|---|---|"]
        out += [f"| `{name}` | {_cell(text)} |" for name, text in options(conf, group).items()]
        out.append("")
    out += [
        "## Keys",
        "",
        "Every key, with its type and default; set one with `key=value` (`+key=value` to add",
        "one the schema leaves open, such as `+model.options.width=2`).",
        "",
    ]
    about = sections()
    by_section: dict[str, list[Key]] = {}
    for key in keys():
        by_section.setdefault(key.name.split(".")[0] if "." in key.name else "", []).append(key)
    for section, found in by_section.items():
        out += [f"### `{section}`" if section else "### Top level", ""]
        if about.get(section):
            out += [f"*{about[section]}*", ""]
        out += ["| key | type | default | meaning |", "|---|---|---|---|"]
        out += [f"| `{k.name}` | `{k.type}` | `{_cell(k.default)}` | {_cell(k.meaning)} |" for k in found]
        out.append("")
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    from pipeline.__main__ import config_dir

    print(markdown(Path(config_dir())))
