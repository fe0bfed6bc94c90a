"""The committed notebooks: paired with their .py files, stored without outputs, a tagged parameters cell first."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_the_suite_is_complete() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "00_executive_summary", "01_data_audit", "02_churn_drivers", "03_customer_lifetime",
        "04_loyalty_metrics", "05_retention_economics", "06_churn_reasons", "07_lifetime_models",
        "08_value_at_stake", "09_experiments",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_parameterised(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    for name in ("data_source", "results_dir", "as_of", "seed"):
        assert f"{name} =" in code[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_paired_py_file(path: Path) -> None:
    paired = jupytext.read(path.with_suffix(".py"))
    nb = nbformat.read(path, as_version=4)
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in paired.cells], (
        f"{path.name} and {path.stem}.py differ: run `make notebooks`"
    )
