"""The command line: exit codes and one-line problems, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cxresearch.cli import app
from test_io import canonical_tables, write_source

runner = CliRunner()


def test_simulate_then_validate(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = runner.invoke(app, ["simulate", "--customers", "300", "--months", "12", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "truth.json").read_text())["scale"] == "log_hazard"
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "customers" in result.output


def test_validate_reports_problems_with_exit_code_2(tmp_path: Path) -> None:
    tables = canonical_tables()
    tables["surveys"].loc[0, "score"] = 42
    tables["customers"] = tables["customers"].drop(columns=["monthly_margin"])
    source = write_source(tmp_path / "bad", "csv", tables)
    result = runner.invoke(app, ["validate", str(source)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("customers.", "surveys."))]
    assert any(line.startswith("customers.monthly_margin") for line in lines)
    assert any(line.startswith("surveys.score") for line in lines)


def test_validate_missing_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_run_refuses_bad_param_and_bad_data(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "reports")])
    assert result.exit_code == 2
    assert not (tmp_path / "reports").exists()
    result = runner.invoke(app, ["run", "--param", "novalue", "--out", str(tmp_path / "reports")])
    assert result.exit_code == 2
