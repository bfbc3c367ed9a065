"""The notebook tour (docs/notebooks/tour.ipynb) runs top to bottom in a Python kernel, as a
reader's Jupyter runs it, and says what its stored outputs say."""

import ast
import re
from pathlib import Path

import pytest

TOUR = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "tour.ipynb"


def outputs(notebook) -> tuple[str, int, list[str]]:
    """Printed text, the number of figures and the errors of the notebook's code cells."""
    text, figures, errors = "", 0, []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            text += out.get("text", "") if out["output_type"] == "stream" else ""
            figures += "image/png" in out.get("data", {})
            errors += [f"{out['ename']}: {out['evalue']}"] if out["output_type"] == "error" else []
    return text, figures, errors


@pytest.mark.slow  # VGG16 on the cat, a LeNet-5 trained and attacked: about a minute
def test_the_notebook_tour_runs_top_to_bottom(tmp_path, tfds_dir, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("TFDS_DATA_DIR", tfds_dir)  # the kernel inherits it
    notebook = nbformat.read(TOUR, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    text, figures, errors = outputs(notebook)
    assert not errors and figures == 4, (errors, figures)
    assert float(re.search(r"training accuracy after 8 epochs: ([0-9.]+)", text).group(1)) > 0.9
    curve = ast.literal_eval(re.search(r"\{0\.0: .*\}", text).group(0))
    assert curve[0.0] > 0.9 and curve[0.2] < 0.1 and list(curve.values()) == sorted(curve.values(), reverse=True)


def test_the_stored_tour_shows_what_a_run_shows():
    """The docs render the stored outputs: every code cell ran, in order, with no error."""
    import json

    notebook = json.loads(TOUR.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1))
    assert not any(out["output_type"] == "error" for cell in code for out in cell["outputs"])
    assert sum("image/png" in out.get("data", {}) for cell in code for out in cell["outputs"]) == 4
