"""Suite files: the examples validate, each kind of mistake is one line and exit 2, and a suite runs end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from simulated_worlds import simulated_world
from typer.testing import CliRunner

from cxresearch.run.cli import app
from cxresearch.run.suitefile import SuiteFileError, read_suite

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny simulated world: enough to load and to run the lifetime notebook."""
    return simulated_world(tmp_path_factory, "suitefile", 1500, 12, 5)


def _write(directory: Path, doc: dict | str) -> Path:
    """A suite file in `directory` (a dict is dumped as YAML, a string written as is)."""
    path = directory / "suite.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return path


def _valid(world: Path) -> dict:
    """A suite that validates: only the mistakes the tests add make it fail."""
    return {
        "name": "tiny", "data": str(world), "notebooks_dir": str(ROOT / "notebooks"),
        "notebooks": ["01_data_audit", "03_customer_lifetime"], "parameters": {"n_draws": 20},
    }


@pytest.mark.parametrize("name", ["weekly-executive", "monthly-deep-dive"])
def test_example_suites_validate(name: str) -> None:
    suite = read_suite(ROOT / "suites" / f"{name}.yaml")
    assert suite.name == name and suite.data == "demo"
    assert suite.notebooks_dir == ROOT / "notebooks" and suite.out == ROOT / "reports"
    assert "00_executive_summary" in suite.notebooks
    assert {"01_data_audit", "02_churn_drivers", "05_retention_economics"} <= set(suite.notebooks)
    assert isinstance(suite.parameters["n_boot"], int) and suite.parameters["n_boot"] >= 100


def test_paths_are_relative_to_the_suite_file_and_types_are_converted(
    world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "suites"
    here.mkdir()
    doc = {**_valid(world), "data": os.path.relpath(world, here), "out": "reports",
           "parameters": {"n_draws": "20", "as_of": "2024-06-30"}}
    path = _write(here, doc)
    monkeypatch.chdir(tmp_path.parent)  # the working directory must not matter
    suite = read_suite(path)
    assert suite.data == str(world.resolve())
    assert suite.out == here / "reports" and suite.reports_dir(suite.out) == here / "reports" / "tiny"
    # Text is converted to the declared int; a YAML date stays the text the notebooks expect.
    assert suite.parameters == {"n_draws": 20, "as_of": "2024-06-30"}
    assert suite.notebooks == ["01_data_audit", "03_customer_lifetime", "00_executive_summary"]


MISTAKES = {
    "unknown key": (lambda d: {**d, "paramters": {}}, "paramters: unknown key"),
    "missing name": (lambda d: {k: v for k, v in d.items() if k != "name"}, "name: required"),
    "bad name": (lambda d: {**d, "name": "Weekly Exec/2"}, "name: must be lower-case"),
    "wrong type": (lambda d: {**d, "jobs": "two"}, "jobs: must be a whole number of at least 1, got 'two'"),
    "unknown notebook": (lambda d: {**d, "notebooks": ["01_data_audit", "07_magic"]},
                         "notebooks: unknown notebook(s) 07_magic"),
    "undeclared parameter": (lambda d: {**d, "parameters": {"delight": 1}},
                             "parameters: 'delight' is not declared by any notebook"),
    # n_boot exists, but not in the notebooks this suite runs.
    "parameter of another notebook": (lambda d: {**d, "parameters": {"n_boot": 50}},
                                      "parameters: 'n_boot' is not declared by any notebook"),
    "mistyped parameter": (lambda d: {**d, "parameters": {"n_draws": "many"}},
                           "parameters: 'n_draws' expects int (declared in 03_customer_lifetime), got 'many'"),
    "reserved parameter": (lambda d: {**d, "parameters": {"results_dir": "/tmp"}},
                           "parameters: 'results_dir' is set by the suite"),
    "not yaml": (lambda d: "name: [tiny\n", "not valid YAML"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_mistake_is_one_line_and_exit_2_with_nothing_written(world: Path, tmp_path: Path, mistake: str) -> None:
    change, expected = MISTAKES[mistake]
    reports = tmp_path / "reports"
    path = _write(tmp_path, change({**_valid(world), "out": str(reports)}))
    with pytest.raises(SuiteFileError) as caught:
        read_suite(path)
    assert len(caught.value.problems) == 1, caught.value.problems
    assert expected in caught.value.problems[0]
    result = runner.invoke(app, ["run", "--suite", str(path)])
    assert result.exit_code == 2, result.output
    assert [line for line in result.output.splitlines() if line.startswith("error:")] == [
        f"error: {caught.value.problems[0]}"]
    assert "Traceback" not in result.output and "nothing was run" in result.output
    assert not reports.exists()


def test_several_mistakes_are_all_reported(world: Path, tmp_path: Path) -> None:
    doc = {**_valid(world), "jobs": 0, "keep": True, "colour": "blue", "parameters": {"delight": 1}}
    with pytest.raises(SuiteFileError) as caught:
        read_suite(_write(tmp_path, doc))
    assert len(caught.value.problems) == 4


def test_a_data_source_that_does_not_load_is_refused(world: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    path = _write(tmp_path, {**_valid(world), "data": "nowhere", "out": str(reports)})
    assert read_suite(path).data == str(tmp_path / "nowhere")  # relative to the suite file
    result = runner.invoke(app, ["run", "--suite", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{tmp_path / 'nowhere'}: 1 problem(s); nothing was run" in result.output
    assert not reports.exists()


def test_command_line_parameters_are_checked_against_the_suite(world: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    path = _write(tmp_path, {**_valid(world), "out": str(reports)})
    result = runner.invoke(app, ["run", "--suite", str(path), "--param", "n_draws=lots"])
    assert result.exit_code == 2 and "'n_draws' expects int" in result.output
    assert "the command line overrides --param n_draws" in result.output
    assert not (reports / "tiny").exists() or not any((reports / "tiny").iterdir())


@pytest.mark.slow
def test_run_suite_end_to_end(world: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    path = _write(tmp_path, {**_valid(world), "out": str(tmp_path / "ignored"), "jobs": 2})
    # --out overrides the file's; --param overrides one parameter and keeps the others.
    result = runner.invoke(app, ["run", "--suite", str(path), "--out", str(reports), "--param", "seed=3"])
    assert result.exit_code == 0, result.output
    assert "the command line overrides --out" in result.output
    latest = reports / "tiny" / "latest"
    assert latest.is_symlink() and latest.resolve().parent == (reports / "tiny").resolve()
    assert not (tmp_path / "ignored").exists()
    manifest = json.loads((latest / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["data_source"] == str(world.resolve())
    assert [nb["name"] for nb in manifest["notebooks"]] == ["01_data_audit", "03_customer_lifetime",
                                                            "00_executive_summary"]
    assert manifest["parameters"]["n_draws"] == 20 and manifest["parameters"]["seed"] == 3
    assert manifest["suite"] == "tiny"
    assert sorted(p.name for p in (latest / "results").glob("*.json")) == [
        "01_data_audit.json", "03_customer_lifetime.json"]
