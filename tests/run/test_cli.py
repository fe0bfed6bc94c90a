"""The command line: exit codes and one-line problems, never a traceback."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

from test_io import canonical_tables, write_source
from typer.testing import CliRunner

from cxresearch.run.cli import app

runner = CliRunner()


def test_simulate_then_validate(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = runner.invoke(app, ["simulate", "--customers", "300", "--months", "12", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "truth.json").read_text())["scale"] == "log_hazard"
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "customers" in result.output


def test_simulate_runs_the_campaigns_unless_told_not_to(tmp_path: Path) -> None:
    on = runner.invoke(app, ["simulate", "--customers", "300", "--months", "12", "--out", str(tmp_path / "on")])
    assert on.exit_code == 0 and "campaign assignments" in on.output, on.output
    assert (tmp_path / "on" / "treatments.parquet").is_file()
    assert set(json.loads((tmp_path / "on" / "truth.json").read_text())["campaigns"]) == {
        "proactive_follow_up", "retention_offer"}
    off = runner.invoke(app, ["simulate", "--customers", "300", "--months", "12", "--no-campaigns",
                              "--out", str(tmp_path / "off")])
    assert off.exit_code == 0 and not (tmp_path / "off" / "treatments.parquet").exists()
    assert "notes" not in json.loads((tmp_path / "off" / "dataset.json").read_text())


def test_a_world_too_short_for_campaigns_drops_them_unless_they_were_asked_for(tmp_path: Path) -> None:
    # Campaigns need 8 months: by default a 6-month world leaves them out and says so, on screen and in its notes.
    short = runner.invoke(app, ["simulate", "--customers", "300", "--months", "6", "--out", str(tmp_path / "s")])
    assert short.exit_code == 0, short.output
    assert "note: No randomised campaigns: they need at least 8 months" in short.output
    assert "campaign assignments" not in short.output and not (tmp_path / "s" / "treatments.parquet").exists()
    assert "campaigns" not in json.loads((tmp_path / "s" / "truth.json").read_text())
    notes = json.loads((tmp_path / "s" / "dataset.json").read_text())["notes"]
    assert len(notes) == 1 and "this world has 6" in notes[0]
    checked = runner.invoke(app, ["validate", str(tmp_path / "s")])
    assert checked.exit_code == 0 and "note: No randomised campaigns" in checked.output
    # Asked for explicitly, they are refused in one line that says how to get them.
    asked = runner.invoke(app, ["simulate", "--customers", "300", "--months", "6", "--campaigns",
                                "--out", str(tmp_path / "a")])
    assert asked.exit_code == 2 and "Traceback" not in asked.output and not (tmp_path / "a").exists()
    assert "--campaigns: campaigns need at least 8 months of observation, not 6" in asked.output
    # Left out explicitly, nothing to note; long enough, the default runs them.
    off = runner.invoke(app, ["simulate", "--customers", "300", "--months", "6", "--no-campaigns",
                              "--out", str(tmp_path / "off")])
    assert off.exit_code == 0 and "note:" not in off.output
    assert "notes" not in json.loads((tmp_path / "off" / "dataset.json").read_text())
    eight = runner.invoke(app, ["simulate", "--customers", "300", "--months", "8", "--out", str(tmp_path / "8")])
    assert eight.exit_code == 0 and "campaign assignments" in eight.output and "note:" not in eight.output


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


def test_validate_warns_about_implausible_but_legal_data_and_exits_0(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(write_source(tmp_path / "clean"))])
    assert result.exit_code == 0 and "plausibility: nothing implausible found" in result.output
    tables = canonical_tables()
    tables["customers"]["monthly_margin"] = [-3.0, 0.0, -1.5, -2.0, 15.0]
    result = runner.invoke(app, ["validate", str(write_source(tmp_path / "costs", "csv", tables))])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    heading = lines.index("plausibility warnings (1): valid, but check before trusting the figures")
    assert lines[heading + 1:] == [
        "  customers.monthly_margin: monthly margin is zero or negative for 4 of 5 customers (80.0%) (e.g. C001, "
        "C002, C003): CLV and retention economics will be negative or zero; check that it is a margin, not a cost, "
        "and its sign"
    ]


def test_run_prints_plausibility_warnings_before_running(tmp_path: Path) -> None:
    tables = canonical_tables()
    tables["customers"]["monthly_margin"] = [-3.0, 0.0, -1.5, -2.0, 15.0]
    source = write_source(tmp_path / "costs", "csv", tables)
    # An undeclared parameter stops the run after the data is checked, before any notebook runs.
    result = runner.invoke(app, ["run", "--data", str(source), "--out", str(tmp_path / "reports"), "--param", "x=1"])
    assert result.exit_code == 2
    assert "warning: customers.monthly_margin: monthly margin is zero or negative for 4 of 5" in result.output


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


def test_validate_and_run_accept_a_mapping_and_refuse_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,days,churn,margin\na,30,no,1.5\nb,60,maybe,2\n")
    mapping = tmp_path / "m.yaml"
    text = ("shape: flat\nas_of: 2024-01-01\nchurn_period_months: 1\nsources: {s: c.csv}\ncustomers:\n  from: s\n"
            "  columns: {customer_id: id,"
            " tenure: {column: days, unit: days}, churned: churn, monthly_margin: margin}\n")
    mapping.write_text(text)
    result = runner.invoke(app, ["validate", str(mapping)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "customers.columns.churned: 1 row: column 'churn': churned must be true/false" in result.output
    result = runner.invoke(app, ["run", "--data", str(mapping), "--out", str(tmp_path / "reports")])
    assert result.exit_code == 2 and not (tmp_path / "reports").exists()
    mapping.write_text(text.replace("churned: churn", "churned: {column: churn, values: {no: false, maybe: true}}"))
    result = runner.invoke(app, ["validate", str(mapping)])
    assert result.exit_code == 0, result.output
    assert "flat data" in result.output and "supports: churn" in result.output


def test_run_refuses_unknown_or_mistyped_parameters_before_running(tmp_path: Path) -> None:
    world = tmp_path / "world"
    assert runner.invoke(app, ["simulate", "--customers", "200", "--months", "12", "--out", str(world)]).exit_code == 0
    reports = tmp_path / "reports"
    result = runner.invoke(app, ["run", "--data", str(world), "--out", str(reports),
                                 "--param", "n_boot=many", "--param", "delight=1"])
    assert result.exit_code == 2
    assert "'n_boot' expects int" in result.output and "'delight' is not declared" in result.output
    assert "Traceback" not in result.output
    assert not reports.exists()


def test_run_refuses_while_another_run_holds_the_lock(tmp_path: Path) -> None:
    world = tmp_path / "world"
    assert runner.invoke(app, ["simulate", "--customers", "200", "--months", "12", "--out", str(world)]).exit_code == 0
    reports = tmp_path / "reports"
    reports.mkdir()
    with open(reports / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = runner.invoke(app, ["run", "--data", str(world), "--out", str(reports)])
    assert result.exit_code == 3 and "in progress" in result.output
