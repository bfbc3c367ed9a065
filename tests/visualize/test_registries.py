"""The visualization registries: each method lives in one module with the arrays it draws,
registering is all it takes for the stage to run a method, and the report runs section by
section."""

import importlib

import numpy as np
import pytest

import pipeline.visualize
from pipeline.drawing import Panel
from pipeline.visualize import ATTRIBUTIONS, METHODS, SECTIONS
from pipeline.visualize.methods import method, report_order


def _module_exports(module_name: str) -> set[str]:
    """The package's public names that `module_name` defines."""
    module = importlib.import_module(module_name)
    return {
        name
        for name in pipeline.visualize.__all__
        if getattr(getattr(module, name, None), "__module__", None) == module_name
    }


@pytest.mark.parametrize("name", sorted(METHODS))
def test_each_method_is_registered_next_to_the_arrays_it_draws(name):
    module = METHODS[name].panels.__module__
    assert module.startswith("pipeline.visualize.") and module != "pipeline.visualize.methods"
    assert _module_exports(module), f"{name} is registered in {module}, which defines no public method"


@pytest.mark.parametrize("name", sorted(ATTRIBUTIONS))
def test_each_attribution_is_registered_with_its_method(name):
    assert ATTRIBUTIONS[name].__module__ == METHODS[name].panels.__module__


def test_the_report_runs_section_by_section_and_every_method_once():
    order = report_order()
    assert sorted(order) == sorted(METHODS)
    sections = [SECTIONS.index(METHODS[name].section) for name in order]
    assert sections == sorted(sections)
    assert order[0] == "filters" and order[-2:] == ["autoencoder", "embedding"]


def test_registering_a_method_is_all_the_stage_needs():
    @method("test_only_mean_image", "representation", classifier=False)
    def mean_image(c) -> list[Panel]:
        return [Panel("mean", None, f"{c.x.mean():.1f}")]

    try:
        assert "test_only_mean_image" in report_order()
        assert METHODS["test_only_mean_image"].panels(type("C", (), {"x": np.ones(3)})())[0].caption == "1.0"
    finally:
        del METHODS["test_only_mean_image"]


def test_a_method_names_a_known_section():
    with pytest.raises(ValueError, match=r"section 'misc' of method 'x' is not one of \('weights'"):
        method("x", "misc")
