"""Property-based tests of the validator (hypothesis): valid worlds pass, one corruption gives exactly its
problem, and no value or byte string makes validation raise anything but DataValidationError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_io import canonical_tables, write_source

from cxresearch.data.load import load_source
from cxresearch.data.schema import DIRECTIONS, SCORE_RANGES
from cxresearch.data.validation.checks import validate_tables
from cxresearch.data.validation.problems import DataValidationError, Problem

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ID_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Z", "C")), min_size=1, max_size=12)
DAY0 = pd.Timestamp("2015-01-01")


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    """A random valid world: unique ids, end >= signup, events within lifetimes, scores in range."""
    ids = draw(st.lists(ID_TEXT, min_size=1, max_size=12, unique=True))
    n = len(ids)
    signup_day = draw(st.lists(st.integers(0, 3000), min_size=n, max_size=n))
    length = draw(st.lists(st.one_of(st.none(), st.integers(0, 900)), min_size=n, max_size=n))
    signup = [DAY0 + pd.Timedelta(days=d) for d in signup_day]
    end = [None if k is None else s + pd.Timedelta(days=k) for s, k in zip(signup, length, strict=True)]
    margins = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=n, max_size=n))
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": pd.to_datetime(signup),
            "end_date": pd.to_datetime(end),
            "monthly_margin": margins,
        }
    )

    def event_times(owners: list[int], fractions: list[float]) -> pd.DatetimeIndex:
        """A time within each owner's lifetime (active customers: up to 400 days after signup)."""
        times = []
        for i, f in zip(owners, fractions, strict=True):
            span = (length[i] if length[i] is not None else 400) * 86_400
            times.append(signup[i] + pd.Timedelta(seconds=int(f * span)))
        return pd.to_datetime(times)

    m = draw(st.integers(0, 20))
    owners = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    contacts = pd.DataFrame(
        {
            "customer_id": [ids[i] for i in owners],
            "timestamp": event_times(owners, draw(st.lists(st.floats(0, 1), min_size=m, max_size=m))),
            "channel": draw(st.lists(st.sampled_from(["phone", "chat", "email"]), min_size=m, max_size=m)),
            "direction": draw(st.lists(st.sampled_from(DIRECTIONS), min_size=m, max_size=m)),
        }
    )
    k = draw(st.integers(0, 20))
    owners = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
    instruments = draw(st.lists(st.sampled_from(list(SCORE_RANGES)), min_size=k, max_size=k))
    scores = [draw(st.integers(*SCORE_RANGES[i])) for i in instruments]
    surveys = pd.DataFrame(
        {
            "customer_id": [ids[i] for i in owners],
            "timestamp": event_times(owners, draw(st.lists(st.floats(0, 1), min_size=k, max_size=k))),
            "instrument": instruments,
            "score": np.array(scores, dtype="int64"),
        }
    )
    return {"customers": customers, "contacts": contacts, "surveys": surveys}


def kinds(problems: list[Problem]) -> set[tuple[str, str | None, str]]:
    """(table, column, message without the found values) of each problem."""
    return {(p.table, p.column, p.message.split(":")[0]) for p in problems}


@SETTINGS
@given(worlds())
def test_random_valid_worlds_have_no_problems(world: dict[str, pd.DataFrame]) -> None:
    assert validate_tables(**world) == []


@SETTINGS
@given(worlds(), st.data())
def test_score_out_of_range_is_exactly_one_score_problem(
    world: dict[str, pd.DataFrame], data: st.DataObject
) -> None:
    surveys = world["surveys"]
    if surveys.empty:
        return
    row = data.draw(st.integers(0, len(surveys) - 1))
    low, high = SCORE_RANGES[surveys.loc[row, "instrument"]]
    surveys.loc[row, "score"] = data.draw(
        st.one_of(st.integers(high + 1, 10**9), st.integers(-(10**9), low - 1))
    )
    name = surveys.loc[row, "instrument"].upper()
    assert kinds(validate_tables(**world)) == {("surveys", "score", f"{name} score outside {low}-{high}")}


@SETTINGS
@given(worlds(), st.data())
def test_duplicated_customer_row_is_exactly_a_duplicate_id(
    world: dict[str, pd.DataFrame], data: st.DataObject
) -> None:
    customers = world["customers"]
    row = data.draw(st.integers(0, len(customers) - 1))
    world["customers"] = pd.concat([customers, customers.iloc[[row]]], ignore_index=True)
    problems = validate_tables(**world)
    assert kinds(problems) == {("customers", "customer_id", "duplicate customer_id")}
    assert problems[0].n_rows == 2 and problems[0].examples == [customers.loc[row, "customer_id"]]


@SETTINGS
@given(worlds(), st.integers(1, 5000))
def test_end_before_signup_is_exactly_an_end_date_problem(world: dict[str, pd.DataFrame], days: int) -> None:
    # A new customer without events, so that no event falls outside the broken lifetime.
    signup = pd.Timestamp("2020-06-01")
    extra = pd.DataFrame(
        {
            "customer_id": ["\u00a7new"],
            "signup_date": [signup],
            "end_date": [signup - pd.Timedelta(days=days)],
            "monthly_margin": [1.0],
        }
    )
    world["customers"] = pd.concat([world["customers"], extra], ignore_index=True)
    problems = validate_tables(**world)
    assert kinds(problems) == {("customers", "end_date", "end_date before signup_date")}
    assert problems[0].examples == ["\u00a7new"]


@SETTINGS
@given(worlds(), st.data(), st.integers(1, 10**7))
def test_event_before_signup_is_exactly_a_timestamp_problem(
    world: dict[str, pd.DataFrame], data: st.DataObject, seconds: int
) -> None:
    customers = world["customers"]
    row = data.draw(st.integers(0, len(customers) - 1))
    cid, signup = customers.loc[row, "customer_id"], customers.loc[row, "signup_date"]
    # Before the signup day (events on the signup day itself count as within the lifetime).
    early = pd.DataFrame(
        {
            "customer_id": [cid],
            "timestamp": [signup - pd.Timedelta(seconds=seconds)],
            "channel": ["phone"],
            "direction": ["reactive"],
        }
    )
    world["contacts"] = pd.concat([world["contacts"], early], ignore_index=True)
    problems = validate_tables(**world)
    assert kinds(problems) == {("contacts", "timestamp", "event before the customer's signup_date")}
    assert problems[0].examples == [cid]


CELL_VALUES = st.one_of(
    st.text(max_size=30),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.booleans(),
    st.none(),
    st.datetimes(),
    st.binary(max_size=10),
)
COLUMNS = [(t, c) for t, df in canonical_tables().items() for c in df.columns]


@SETTINGS
@given(st.sampled_from(COLUMNS), st.integers(0, 4), CELL_VALUES)
def test_any_value_in_a_frame_gives_problems_not_exceptions(
    column: tuple[str, str], row: int, value: object
) -> None:
    tables = canonical_tables()
    table, name = column
    tables[table][name] = tables[table][name].astype(object)
    tables[table].loc[row, name] = value
    for problem in validate_tables(**tables):
        assert "\n" not in str(problem) and str(problem).startswith(problem.table)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(COLUMNS), st.integers(0, 4), st.text())
def test_any_text_in_a_csv_cell_loads_or_raises_data_validation_error(
    column: tuple[str, str], row: int, text: str
) -> None:
    tables = canonical_tables()
    table, name = column
    tables[table][name] = tables[table][name].astype(object)
    tables[table].loc[row, name] = text
    with tempfile.TemporaryDirectory() as tmp:
        source = write_source(Path(tmp), "csv", tables)
        try:
            load_source(source)
        except DataValidationError as err:
            assert err.problems and all("\n" not in str(p) for p in err.problems)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["customers", "contacts", "surveys"]), st.binary(max_size=200), st.booleans())
def test_any_bytes_in_a_file_load_or_raise_data_validation_error(
    table: str, junk: bytes, append: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = write_source(Path(tmp), "csv")
        path = source / f"{table}.csv"
        path.write_bytes(path.read_bytes() + junk if append else junk)
        try:
            load_source(source)
        except DataValidationError as err:
            assert err.problems and all("\n" not in str(p) for p in err.problems)
