"""Tests for cxresearch.run.runs: the run lock, the `latest` link, keeping the newest runs, the previous run's
results, and reading a published run back."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pandas as pd
import pytest

from cxresearch.report.results import Results
from cxresearch.run.runs import (
    RUN_ID,
    SuiteBusyError,
    load_run,
    point_latest,
    previous_results,
    prune_runs,
    run_lock,
)
from cxresearch.stats.estimate import Estimate

OLD = ("20200101-000000-aaaaaa", "20200102-000000-bbbbbb", "20200103-000000-cccccc", "20200104-000000-dddddd")


def _runs(out: Path) -> list[str]:
    """Run directories left in `out`, sorted."""
    return sorted(p.name for p in out.iterdir() if p.is_dir() and not p.is_symlink() and RUN_ID.fullmatch(p.name))


def test_run_ids_are_timestamp_and_six_hex_digits() -> None:
    assert RUN_ID.fullmatch("20250101-120000-1a2b3c")
    assert not RUN_ID.fullmatch("20250101-120000-1a2b3")  # five digits
    assert not RUN_ID.fullmatch("latest")


def test_prune_keeps_the_newest_and_never_latest(tmp_path: Path) -> None:
    for name in OLD:
        (tmp_path / name).mkdir()
    (tmp_path / "notes").mkdir()  # not a run: never touched
    point_latest(tmp_path, OLD[0])  # latest at the oldest run (e.g. every later run failed)
    removed = prune_runs(tmp_path, keep=2)
    assert removed == [OLD[1]]  # the two newest stay, the oldest is latest's target
    assert _runs(tmp_path) == [OLD[0], OLD[2], OLD[3]]
    assert (tmp_path / "notes").is_dir()
    assert prune_runs(tmp_path, keep=5) == []


def test_point_latest_is_a_relative_link_that_moves(tmp_path: Path) -> None:
    for name in OLD[:2]:
        (tmp_path / name).mkdir()
    point_latest(tmp_path, OLD[0])
    point_latest(tmp_path, OLD[1])
    link = tmp_path / "latest"
    assert link.is_symlink() and str(link.readlink()) == OLD[1]
    assert link.resolve() == (tmp_path / OLD[1]).resolve()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".latest")] == []  # no temporary link left


def test_previous_results_only_for_the_same_data_source(tmp_path: Path) -> None:
    assert previous_results(tmp_path, "demo") == ""  # no latest run yet
    run = tmp_path / OLD[0]
    (run / "results").mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"data_source": "demo"}))
    point_latest(tmp_path, OLD[0])
    assert previous_results(tmp_path, "demo") == str((run / "results").resolve())
    assert previous_results(tmp_path, "other") == ""
    (run / "manifest.json").write_text("{not json")
    assert previous_results(tmp_path, "demo") == ""


def test_run_lock_refuses_a_second_run_unless_waiting(tmp_path: Path) -> None:
    said: list[str] = []
    with run_lock(tmp_path, wait=False, report=said.append):
        with open(tmp_path / ".lock", "a+") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while the run is inside
    with open(tmp_path / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(SuiteBusyError, match="in progress"), run_lock(tmp_path, wait=False, report=said.append):
            pass
    assert said == []
    with run_lock(tmp_path, wait=True, report=said.append):  # released: no waiting message
        pass
    assert said == []


def test_load_run_reads_manifest_estimates_and_tables(tmp_path: Path) -> None:
    run = tmp_path / OLD[0]
    (run / "results").mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"data_source": "demo", "run_id": OLD[0]}))
    results = Results("02_churn_drivers", {}, "abc")
    results.add("churn_rate_window", Estimate(12.5, "%", "Churned", 11.0, 14.0, n=400))
    results.add_table("gains", pd.DataFrame({"decile": [1, 2], "lift": [2.5, 1.5]}))
    results.write(run / "results")
    point_latest(tmp_path, OLD[0])
    record = load_run("latest", tmp_path)
    assert record.manifest["run_id"] == OLD[0]
    assert record.estimate("02_churn_drivers", "churn_rate_window").value == 12.5
    table = record.estimates()
    assert table.loc[0, ["key", "value", "ci_low", "ci_high"]].tolist() == ["churn_rate_window", 12.5, 11.0, 14.0]
    assert record.table("02_churn_drivers", "gains")["lift"].tolist() == [2.5, 1.5]
    assert load_run(str(run)).run_dir == run.resolve()  # a run directory path works too
    with pytest.raises(FileNotFoundError, match=f"available: {OLD[0]}"):
        load_run("19990101-000000-000000", tmp_path)
