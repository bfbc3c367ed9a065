"""Registries: one class, filled one way (`register`, where the entries are defined), with an
unknown-name error that lists the known names; and one word, `impl`, for our layers vs Keras's."""

import ast
import inspect
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.data import OFFLINE_BUILDERS, REAL_DATASETS
from pipeline.models import IMPLS, build_model
from pipeline.registry import Registry, UnknownNameError

ROOT = Path(__file__).resolve().parents[1]


def test_an_unknown_name_lists_the_known_ones():
    optimizers = Registry("optimizer.name")
    optimizers.register("adam", "A")
    optimizers.register("sgd", "S")
    with pytest.raises(UnknownNameError, match=r"^unknown optimizer.name 'adamm'; known: adam, sgd$"):
        optimizers["adamm"]
    with pytest.raises(UnknownNameError, match=r"unknown optimizer.name \['x', 'y'\]; known: adam, sgd"):
        optimizers.check(["adam", "x", "y"])


def test_register_returns_the_entry_as_a_call_and_as_a_decorator():
    things = Registry("thing")

    @things.register("square")
    def square(v):
        return v * v

    assert things.register("cube", pow) is pow
    assert square(3) == 9 and list(things) == ["square", "cube"] and things["square"] is square


def test_a_name_registers_once():
    things = Registry("thing")
    things.register("a", 1)
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        things.register("a", 2)


def _registry_calls():
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Registry":
                yield path.relative_to(ROOT), node


def test_every_registry_is_created_empty_and_filled_by_register():
    calls = list(_registry_calls())
    assert len(calls) >= 15  # stages, methods, attacks, datasets, architectures, ...
    filled_at_creation = [f"{path}:{node.lineno}" for path, node in calls if len(node.args) + len(node.keywords) != 1]
    assert filled_at_creation == []


def test_each_offline_builder_is_registered_under_the_name_tfds_knows():
    assert sorted(OFFLINE_BUILDERS) == ["bars", "digit_canvas", "digits", "shapes", "signals"]
    assert all(builder.name == name for name, builder in OFFLINE_BUILDERS.items())
    assert "cifar10" in REAL_DATASETS and all(isinstance(v, str) for v in REAL_DATASETS.values())


def test_one_word_for_our_layers_or_keras():
    assert IMPLS.kind == "layers.impl" and list(IMPLS) == ["custom", "keras"]
    assert "impl" in Config.__dataclass_fields__["layers"].default_factory().__dataclass_fields__  # layers.impl
    assert "impl" in inspect.signature(build_model).parameters
    for name, impl in IMPLS.items():
        layer = impl.Conv2D(1, 3)
        assert type(layer).__module__.split(".")[0] == ("layers" if name == "custom" else "keras")
