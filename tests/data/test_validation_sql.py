"""Out-of-core validation (`validate_out_of_core`, DuckDB over Parquet) finds what `load_source` finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.load import load_source
from cxresearch.data.out_of_core import validate_out_of_core
from cxresearch.data.simulate import simulate, write_world
from cxresearch.data.validation.problems import DataValidationError
from cxresearch.data.validation.sql import NeedsParsing


@pytest.fixture(scope="module")
def world():
    return simulate(n_customers=2_000, months=12, seed=4, campaigns=True)


def _problems(directory: Path, loader) -> list[str]:
    """Each problem's line, sorted, as `loader` reports them ([] when valid)."""
    try:
        loader(directory)
    except DataValidationError as err:
        return sorted(str(p) for p in err.problems)
    return []


def test_a_valid_world_is_valid_with_the_same_fingerprint_and_end(world, tmp_path: Path) -> None:
    write_world(world, tmp_path)
    data, source = load_source(tmp_path), validate_out_of_core(tmp_path)
    assert source.fingerprint == data.fingerprint and source.observed_until == data.observed_until
    assert source.rows == {"customers": 2_000, "contacts": len(world.contacts), "surveys": len(world.surveys),
                           "treatments": len(world.treatments)}
    assert source.name == data.name and source.metadata["files"] == data.metadata["files"]


def test_every_problem_is_found_as_in_memory(world, tmp_path: Path) -> None:
    customers, contacts, surveys = world.customers.copy(), world.contacts.copy(), world.surveys.copy()
    ids = customers["customer_id"].astype(object)
    ids[3], ids[4], ids[5] = " " + ids[3], "x" * 300, ids[6]  # padded, too long, duplicated
    customers["customer_id"] = ids.astype(customers["customer_id"].dtype)
    customers.loc[7, "monthly_margin"] = np.inf
    customers.loc[8, "monthly_margin"] = np.nan
    customers.loc[9, "acquisition_cost"] = -5.0
    active = customers.index[customers["end_date"].isna()]
    customers.loc[active[0], "end_reason"] = "price"
    left = customers.index[customers["end_date"].notna()]
    customers.loc[left[0], "end_reason"] = "bored"
    customers.loc[left[1], "end_date"] = customers.loc[left[1], "signup_date"] - pd.Timedelta(days=3)
    contacts.loc[0, "direction"] = "sideways"
    contacts.loc[[1, 2], "handle_minutes"] = -1.0
    contacts.loc[3, "customer_id"] = "C999999"
    contacts.loc[4, "customer_id"] = None
    contacts.loc[5, "timestamp"] = pd.Timestamp("2021-01-01")
    surveys.loc[0, "instrument"] = "ces2"
    surveys.loc[surveys.index[surveys["instrument"] == "nps"][:2], "score"] = 11
    surveys.loc[1, "timestamp"] = pd.Timestamp("2030-01-01")
    broken = world.__class__(customers, contacts, surveys, world.truth, world.observed_until, world.observed_from,
                             world.settings, world.treatments)
    write_world(broken, tmp_path)
    expected = _problems(tmp_path, load_source)
    assert len(expected) >= 14
    assert _problems(tmp_path, validate_out_of_core) == expected


def test_columns_that_need_parsing_are_left_to_the_in_memory_path(world, tmp_path: Path) -> None:
    write_world(world, tmp_path)
    customers = world.customers.assign(signup_date=world.customers["signup_date"].dt.strftime("%Y-%m-%d"))
    customers.to_parquet(tmp_path / "customers.parquet", index=False)
    load_source(tmp_path)  # text dates parse
    with pytest.raises(NeedsParsing, match="signup_date"):
        validate_out_of_core(tmp_path)


def test_the_cli_validates_out_of_core_when_asked_and_exits_2_on_problems(world, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cxresearch.run.cli import app

    write_world(world, tmp_path)
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--out-of-core"])
    assert result.exit_code == 0 and "checked out of core" in result.output
    assert f"contacts: {len(world.contacts):,} rows" in result.output
    assert "plausibility: nothing implausible found" in result.output
    # Legal but implausible: the same warnings as in memory, computed over the files.
    world.customers.assign(monthly_margin=0.0).to_parquet(tmp_path / "customers.parquet", index=False)
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--out-of-core"])
    assert result.exit_code == 0 and "plausibility warnings (1)" in result.output
    assert "customers.monthly_margin: monthly margin is zero or negative for 2,000 of 2,000 customers" in result.output
    customers = world.customers.assign(monthly_margin=-np.inf)
    customers.to_parquet(tmp_path / "customers.parquet", index=False)
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--out-of-core"])
    assert result.exit_code == 2 and "customers.monthly_margin: 2,000 rows: not a finite number: '-inf'" in result.output
