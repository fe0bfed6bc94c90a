"""Out-of-core plausibility (`plausibility_sql`, DuckDB over Parquet) gives `check_plausibility`'s warnings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_plausibility import N, clean, with_customers

from cxresearch.data.load import load_source, write_tables
from cxresearch.data.out_of_core import ParquetSource, parquet_rows, validate_out_of_core
from cxresearch.data.plausibility import check_plausibility
from cxresearch.data.plausibility_sql import check_plausibility_out_of_core
from cxresearch.data.schema import CXData
from cxresearch.data.simulate import simulate, write_world


def _both(data: CXData, directory: Path) -> tuple[list[str], list[str]]:
    """Warnings of `data` in memory and out of core (its tables written as Parquet), as lines."""
    write_tables(data, directory)
    rows = parquet_rows(directory)
    if data.transactions is not None:
        rows["transactions"] = len(data.transactions)
    source = ParquetSource(directory, data.name, data.observed_until, "", rows, {})
    return [str(w) for w in check_plausibility(data)], [str(w) for w in check_plausibility_out_of_core(source)]


def _signups(first: str) -> pd.Series:
    signup = clean().customers["signup_date"].copy()
    signup[0] = pd.Timestamp(first)
    return signup


def _cases() -> dict[str, CXData]:
    """The worlds of test_plausibility: one per warning, each with known counts, plus two with several."""
    data = clean()
    c = data.customers
    months = (c["end_date"].fillna(data.observed_until) - c["signup_date"]).dt.days / 30.4375
    purchases = pd.DataFrame({"customer_id": ["c00"], "timestamp": [pd.Timestamp("2023-02-01")], "amount": [9.0]})
    return {
        "clean": data,
        "margins": with_customers(data, monthly_margin=np.where(np.arange(N) < 30, -5.0, 25.0)),
        "totals": with_customers(data, monthly_margin=25.0 * months),
        "churn high": with_customers(data, end_date=(c["signup_date"] + pd.Timedelta(days=30)).where(
            np.arange(N) < 37)),
        "churn none": with_customers(data, end_date=pd.NaT),
        "purchases": dataclasses.replace(with_customers(data, end_date=pd.NaT), transactions=purchases),
        "constant nps": dataclasses.replace(data, surveys=data.surveys.assign(score=7)),
        "regions": with_customers(data, region=["north"] * 33 + ["east", "south", "west", "west", "a", "b", "c"]),
        "epoch": with_customers(data, signup_date=_signups("1970-01-01")),
        "decades": with_customers(data, signup_date=_signups("2002-12-31")),
        "late": dataclasses.replace(data, observed_until=pd.Timestamp("2025-06-01")),
        "free": with_customers(data, acquisition_cost=np.where(np.arange(N) < 25, 0.0, 150.0)),
        "several": with_customers(data, monthly_margin=-1.0, region=["north"] * 39 + ["east"],
                                  acquisition_cost=0.0),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_out_of_core_warnings_equal_in_memory_ones(case: str, tmp_path: Path) -> None:
    in_memory, out_of_core = _both(_cases()[case], tmp_path)
    assert out_of_core == in_memory
    assert bool(in_memory) == (case != "clean" and case != "purchases")  # each case warns (the test can fail)


def test_a_simulated_world_gives_the_same_warnings_both_ways(tmp_path: Path) -> None:
    world = simulate(n_customers=2_000, months=24, seed=4)
    write_world(world, tmp_path)
    data = load_source(tmp_path)
    # A world that warns: plan values held by one customer each, and a margin that is a total to date.
    months = (data.customers["end_date"].fillna(data.observed_until) - data.customers["signup_date"]).dt.days
    customers = data.customers.assign(plan=[f"p{i % 1_500}" for i in range(len(data.customers))],
                                      monthly_margin=months / 30.4375 * 20)
    warned = dataclasses.replace(data, customers=customers)
    in_memory, _ = _both(warned, tmp_path / "warned")
    out_of_core = [str(w) for w in check_plausibility_out_of_core(validate_out_of_core(tmp_path / "warned"))]
    assert len(in_memory) == 2 and out_of_core == in_memory
