"""The layout's promises: `layers` stands alone, and a package of `pipeline` uses another one only
through the names that package's `__init__` exports."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent.name for p in (ROOT / "pipeline").glob("*/__init__.py"))


def test_importing_layers_imports_nothing_from_pipeline():
    script = "import sys, layers; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pipeline'))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every `from pipeline... import names` and `import pipeline...` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return [(module, names) for module, names in found if module.split(".")[0] == "pipeline"]


def own_package(path: Path) -> str | None:
    """The package of `pipeline` a file belongs to (None for pipeline's own top-level modules)."""
    parts = path.relative_to(ROOT / "pipeline").parts
    return parts[0] if len(parts) > 1 else None


def crossings(path: Path, own: str | None) -> list[str]:
    """Imports in `path` that reach into another package of `pipeline` past its `__init__`."""
    wrong = []
    for module, names in imports(path):
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in PACKAGES or parts[1] == own:
            continue
        package = importlib.import_module(f"pipeline.{parts[1]}")
        if len(parts) > 2:
            wrong.append(f"{module} (a module inside pipeline.{parts[1]})")
        wrong += [f"{module}.{name} (not in __all__)" for name in names if name not in package.__all__]
    return wrong


@pytest.mark.parametrize("path", sorted((ROOT / "pipeline").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_packages_meet_only_through_their_exports(path):
    assert crossings(path, own_package(path)) == []


def test_the_walk_sees_a_crossing(tmp_path):
    """The check itself can fail: a module reaching into another package is reported."""
    bad = tmp_path / "probe.py"
    bad.write_text(
        "from pipeline.visualize._common import graph\nfrom pipeline.attacks import Attack, _secret\n"
        "from pipeline.training.loop import Steps\n"
    )
    assert crossings(bad, "training") == [
        "pipeline.visualize._common (a module inside pipeline.visualize)",
        "pipeline.visualize._common.graph (not in __all__)",
        "pipeline.attacks._secret (not in __all__)",
    ]


def test_the_wheel_lists_every_package():
    """pyproject.toml names the packages (conf/ maps into pipeline.conf): a new one must be added there."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in ROOT.glob("*/**/__init__.py")
        if p.parts[len(ROOT.parts)] in ("layers", "pipeline")
    }
    assert listed == found | {"pipeline.conf"}
