"""The layout's promises: `layers` stands alone; a package of `pipeline` uses another one only
through the names that package's `__init__` exports (the stage plumbing, `pipeline.stages`, is
read module by module); the project's import graph has no cycle; the library packages import
light; every exported name is a function, class or registry, never a module."""

import ast
import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent.name for p in (ROOT / "pipeline").glob("*/__init__.py"))
PLUMBING = "stages"  # pipeline.stages: the modules every stage reads, imported by name
ALIASES = ("serving.py",)  # pipeline/serving.py: the loader path older logged models name


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
        if len(parts) < 2 or parts[1] not in PACKAGES or parts[1] in (own, PLUMBING):
            continue
        package = importlib.import_module(f"pipeline.{parts[1]}")
        if len(parts) > 2:
            wrong.append(f"{module} (a module inside pipeline.{parts[1]})")
        wrong += [f"{module}.{name} (not in __all__)" for name in names if name not in package.__all__]
    return wrong


@pytest.mark.parametrize("path", sorted((ROOT / "pipeline").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_packages_meet_only_through_their_exports(path):
    if path.relative_to(ROOT / "pipeline").as_posix() in ALIASES:
        return
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
    """pyproject.toml names the pipeline's packages (conf/ maps into pipeline.conf): a new one must
    be added there. `layers` is its own distribution (layers/pyproject.toml) the pipeline depends on."""
    import tomllib

    main = tomllib.loads((ROOT / "pyproject.toml").read_text())
    own = tomllib.loads((ROOT / "layers" / "pyproject.toml").read_text())
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "pipeline").glob("**/__init__.py")}
    assert set(main["tool"]["setuptools"]["packages"]) == found | {"pipeline.conf"}
    listed = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "layers").glob("**/__init__.py")}
    assert set(own["tool"]["setuptools"]["packages"]) == listed and own["project"]["name"] == "convnet-layers"
    assert any(d.startswith(own["project"]["name"]) for d in main["project"]["dependencies"])


# --- The import graph: every import of a project module, those inside functions included.


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported_modules(path: Path) -> list[tuple[str, bool]]:
    """(module, inside a function) for every project module `path` imports; `from a import b`
    names the module `a.b` when b is one, else `a`."""
    tree = ast.parse(path.read_text())
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    inner = {id(node) for function in functions for node in ast.walk(function)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{a.name}" if is_module(f"{node.module}.{a.name}") else node.module for a in node.names
            ]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(name, id(node) in inner) for name in names if name.split(".")[0] in ("layers", "pipeline")]
    return found


SOURCES = sorted([*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "layers").rglob("*.py")])
GRAPH = {module_name(p): {m for m, _ in imported_modules(p)} - {module_name(p)} for p in SOURCES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(GRAPH) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_config_schema_imports_nothing_of_the_project():
    assert GRAPH["pipeline.config"] == set()


# Imports of project modules inside functions: each defers something heavy the module's callers
# may never need, and says so in a comment on the line.
DEFERRED = {("pipeline.__main__", "pipeline.app")}  # TensorFlow and MLflow load after composition succeeds


def test_project_imports_inside_functions_are_only_the_deferred_ones():
    inside = {(module_name(p), m) for p in SOURCES for m, deferred in imported_modules(p) if deferred}
    assert inside == DEFERRED


# --- Light imports: a library user pays for the library, not for the app around it.

LIBRARIES = ["pipeline.models", "pipeline.attacks", "pipeline.visualize", "pipeline.data", "pipeline.training"]
LIBRARIES += ["pipeline.detection"]


def top_level_modules_after(*imports: str) -> set[str]:
    """The top-level modules loaded in a fresh interpreter once `imports` are imported."""
    script = (
        f"import sys, json, {', '.join(imports)}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_library_packages_import_neither_hydra_nor_mlflow():
    """All of them in one interpreter: if none is loaded after importing every one, none imports them."""
    assert top_level_modules_after(*LIBRARIES) & {"hydra", "mlflow"} == set()


def test_layers_import_nothing_of_the_app():
    assert (
        top_level_modules_after("layers") & {"hydra", "mlflow", "omegaconf", "tensorflow_datasets", "pipeline"} == set()
    )


# --- Exports: every name in a package's __all__ is something to call or look up, never a module.

EXPORTING = ["layers", "layers.ops", *(f"pipeline.{name}" for name in PACKAGES)]


@pytest.mark.parametrize("package", EXPORTING)
def test_every_exported_name_is_a_function_class_or_registry(package):
    module = importlib.import_module(package)
    not_callable = [
        name
        for name in module.__all__
        if inspect.ismodule(getattr(module, name)) or not (callable(getattr(module, name)) or name.isupper())
    ]
    assert not_callable == []


@pytest.mark.parametrize("package", EXPORTING)
def test_no_submodule_hides_a_function_of_its_name(package):
    """`from pipeline.visualize import integrated_gradients` gives the function, not its module:
    a submodule that defines a function or class of its own name has it exported."""
    module = importlib.import_module(package)
    folder = Path(module.__file__).parent
    if Path(module.__file__).name != "__init__.py":
        return
    shadowed = [
        path.stem
        for path in folder.glob("*.py")
        if path.stem != "stage"  # a stage's module, found by the stage registry
        and _defines(importlib.import_module(module_name(path)), path.stem)
        and inspect.ismodule(getattr(module, path.stem, None))
    ]
    assert shadowed == []


def _defines(module, name: str) -> bool:
    obj = getattr(module, name, None)
    return (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__


# --- Tests: they import helpers, never another test module or a conftest, and touch no sys.path.


@pytest.mark.parametrize("path", sorted((ROOT / "tests").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_test_module_imports_no_other_test_module(path):
    source = path.read_text()
    tree = ast.parse(source)
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    wrong = [m for m in imported if m.startswith("tests.") and m.split(".")[-1].startswith(("test_", "conftest"))]
    touches_path = "sys.path." in source and path.name != "test_structure.py"  # this file names it only
    assert wrong == [] and not touches_path
