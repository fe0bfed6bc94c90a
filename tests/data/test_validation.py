"""Validation: each class of problem is reported on the right table and column, with counts and examples."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_io import FORMATS, canonical_tables, only, problems_of, write_source

from cxresearch.data.load import load_source
from cxresearch.data.validation.checks import validate_tables
from cxresearch.data.validation.problems import DataValidationError, Problem


def broken(tmp_path: Path, fmt: str, **changes) -> list[Problem]:
    """Problems of the valid world after `changes[table](df)` edits each named table in place."""
    tables = canonical_tables()
    for table, change in changes.items():
        change(tables[table])
    return problems_of(write_source(tmp_path, fmt, tables))


def test_valid_world_has_no_problems() -> None:
    assert validate_tables(**canonical_tables()) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_required_column(tmp_path: Path, fmt: str) -> None:
    problems = broken(tmp_path, fmt, surveys=lambda d: d.drop(columns="score", inplace=True))
    problem = only(problems, "surveys", "score")
    assert problem.n_rows == 0 and problem.message == "missing required column"


def test_missing_column_hints_at_a_near_miss(tmp_path: Path) -> None:
    problems = broken(
        tmp_path, "csv", contacts=lambda d: d.rename(columns={"direction": "Direction "}, inplace=True)
    )
    assert "'Direction '" in only(problems, "contacts", "direction").message


def set_values(column: str, rows: list[int], value: object):
    """An edit setting `column` to `value` in `rows` (the column becomes object so any value fits)."""

    def change(df: pd.DataFrame) -> None:
        df[column] = df[column].astype(object)
        df.loc[rows, column] = value

    return change


def test_text_in_score(tmp_path: Path) -> None:
    problems = broken(tmp_path, "csv", surveys=set_values("score", [2, 5], "ten"))
    problem = only(problems, "surveys", "score")
    assert (problem.n_rows, problem.examples) == (2, ["C002", "C003"])
    assert "not a whole number" in problem.message and "'ten'" in problem.message


def test_fractional_score(tmp_path: Path) -> None:
    problem = only(broken(tmp_path, "csv", surveys=set_values("score", [0], 7.5)), "surveys", "score")
    assert (problem.n_rows, problem.examples) == (1, ["C001"])


def test_unparseable_dates(tmp_path: Path) -> None:
    problems = broken(
        tmp_path,
        "csv",
        customers=set_values("signup_date", [3], "15/03/2023"),
        contacts=set_values("timestamp", [0, 1, 4], "yesterday"),
    )
    signup = only(problems, "customers", "signup_date")
    assert (signup.n_rows, signup.examples) == (1, ["C004"]) and "ISO 8601" in signup.message
    contact = only(problems, "contacts", "timestamp")
    assert (contact.n_rows, contact.examples) == (3, ["C001", "C003"])
    # Unparseable values are reported once, as a type problem, not again as missing values.
    assert len([p for p in problems if p.table == "customers"]) == 1


def test_non_numeric_margin(tmp_path: Path) -> None:
    problem = only(
        broken(tmp_path, "csv", customers=set_values("monthly_margin", [1], "12,50 EUR")),
        "customers",
        "monthly_margin",
    )
    assert (problem.n_rows, problem.examples) == (1, ["C002"]) and "not a number" in problem.message


def test_bad_boolean(tmp_path: Path) -> None:
    problem = only(
        broken(tmp_path, "csv", contacts=set_values("resolved_first_contact", [2], "maybe")),
        "contacts",
        "resolved_first_contact",
    )
    assert (problem.n_rows, problem.examples) == (1, ["C002"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("instrument", "score", "label"),
    [
        ("nps", 11, "NPS score outside 0-10"),
        ("csat", 0, "CSAT score outside 1-5"),
        ("ces", 8, "CES score outside 1-7"),
    ],
)
def test_score_out_of_range(tmp_path: Path, fmt: str, instrument: str, score: int, label: str) -> None:
    def change(df: pd.DataFrame) -> None:
        df.loc[[1, 6, 9], "instrument"] = instrument
        df.loc[[1, 6, 9], "score"] = score

    problem = only(broken(tmp_path, fmt, surveys=change), "surveys", "score")
    assert (problem.n_rows, problem.examples, problem.message) == (3, ["C001", "C004", "C005"], label)


def test_score_in_range_for_its_own_instrument_is_fine(tmp_path: Path) -> None:
    # A 9 is a fine NPS score but not a CSAT score: ranges apply per instrument.
    problem = only(broken(tmp_path, "csv", surveys=set_values("score", [1], 9)), "surveys", "score")
    assert (problem.n_rows, problem.message) == (1, "CSAT score outside 1-5")


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_instrument(tmp_path: Path, fmt: str) -> None:
    problem = only(
        broken(tmp_path, fmt, surveys=set_values("instrument", [0, 3], "NPS")), "surveys", "instrument"
    )
    assert (problem.n_rows, problem.examples) == (2, ["C001", "C002"])
    assert "unknown instrument" in problem.message and "'NPS'" in problem.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_direction(tmp_path: Path, fmt: str) -> None:
    problem = only(
        broken(tmp_path, fmt, contacts=set_values("direction", [7], "inbound")), "contacts", "direction"
    )
    assert (problem.n_rows, problem.examples) == (1, ["C004"]) and "'inbound'" in problem.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_customer_ids(tmp_path: Path, fmt: str) -> None:
    problem = only(
        broken(tmp_path, fmt, customers=set_values("customer_id", [4], "C002")), "customers", "customer_id"
    )
    assert (problem.n_rows, problem.examples, problem.message) == (2, ["C002"], "duplicate customer_id")


def test_whitespace_around_ids_is_flagged_not_stripped(tmp_path: Path) -> None:
    problems = broken(tmp_path, "csv", customers=set_values("customer_id", [2], " C003"))
    padded = only(problems, "customers", "customer_id")
    assert (padded.n_rows, padded.examples) == (1, ["' C003'"]) and "whitespace" in padded.message
    # The id is kept as given, so C003's events now belong to no customer.
    unknown = [p for p in problems if p.table == "contacts" and p.column == "customer_id"]
    assert unknown[0].examples == ["C003"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_end_before_signup(tmp_path: Path, fmt: str) -> None:
    problems = broken(tmp_path, fmt, customers=set_values("end_date", [3], pd.Timestamp("2023-03-01")))
    problem = only([p for p in problems if "end_date before" in p.message], "customers", "end_date")
    assert (problem.n_rows, problem.examples) == (1, ["C004"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_events_for_unknown_customers(tmp_path: Path, fmt: str) -> None:
    problems = broken(
        tmp_path,
        fmt,
        contacts=set_values("customer_id", [0, 1], "C999"),
        surveys=set_values("customer_id", [9], "X1"),
    )
    contacts = only(problems, "contacts", "customer_id")
    assert (contacts.n_rows, contacts.examples) == (2, ["C999"]) and "not in customers" in contacts.message
    assert only(problems, "surveys", "customer_id").examples == ["X1"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_events_before_signup(tmp_path: Path, fmt: str) -> None:
    problems = broken(
        tmp_path,
        fmt,
        contacts=set_values("timestamp", [4], pd.Timestamp("2023-02-28 23:00")),
        surveys=set_values("timestamp", [8], pd.Timestamp("2023-03-31")),
    )
    contact = only(problems, "contacts", "timestamp")
    assert (contact.n_rows, contact.examples) == (1, ["C003"]) and "before" in contact.message
    assert only(problems, "surveys", "timestamp").examples == ["C005"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_events_after_end_date_but_same_day_is_fine(tmp_path: Path, fmt: str) -> None:
    # Contact 3 is on C002's end day (allowed); moving contact 7 a day past C004's end is not.
    problems = broken(tmp_path, fmt, contacts=set_values("timestamp", [7], pd.Timestamp("2023-08-16 08:00")))
    problem = only(problems, "contacts", "timestamp")
    assert (problem.n_rows, problem.examples) == (
        1,
        ["C004"],
    ) and "after the customer's end_date" in problem.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_null_required_values(tmp_path: Path, fmt: str) -> None:
    problems = broken(
        tmp_path,
        fmt,
        contacts=set_values("channel", [5, 6], None),
        surveys=set_values("customer_id", [2], None),
    )
    channel = only(problems, "contacts", "channel")
    assert (channel.n_rows, channel.examples) == (2, ["C003", "C004"]) and "missing value" in channel.message
    # Without a customer id, the row number names the row.
    assert only(problems, "surveys", "customer_id").examples == ["row 3"]


def test_dates_after_observed_until(tmp_path: Path) -> None:
    tables = canonical_tables()
    source = write_source(tmp_path, "csv", tables, dataset={"observed_until": "2023-11-30"})
    problem = only(problems_of(source), "surveys", "timestamp")
    assert (problem.n_rows, problem.examples) == (1, ["C005"]) and "2023-11-30" in problem.message
    # The contact at 17:00 on 2023-11-30 is on the last observed day: fine.
    assert not any(p.table == "contacts" for p in problems_of(source))


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    def customers(df: pd.DataFrame) -> None:
        df.drop(columns="monthly_margin", inplace=True)
        df.loc[4, "customer_id"] = "C001"

    def surveys(df: pd.DataFrame) -> None:
        df.loc[0, "score"] = 42
        df.loc[1, "instrument"] = "ces2"

    problems = broken(
        tmp_path,
        "csv",
        customers=customers,
        surveys=surveys,
        contacts=set_values("direction", [0], "outbound"),
    )
    found = {(p.table, p.column) for p in problems}
    assert {
        ("customers", "monthly_margin"),
        ("customers", "customer_id"),
        ("surveys", "score"),
        ("surveys", "instrument"),
        ("contacts", "direction"),
    } <= found
    # C005's events now belong to no customer: reported too.
    assert ("contacts", "customer_id") in found and ("surveys", "customer_id") in found


def test_every_problem_prints_on_one_line(tmp_path: Path) -> None:
    problems = broken(
        tmp_path,
        "csv",
        customers=set_values("plan", [0], "multi\nline"),
        surveys=set_values("score", [0, 1], "bad\nvalue"),
        contacts=set_values("direction", [0], "in\nbound"),
    )
    problems.append(Problem("customers", None, 0, ["a\nb"], "message\nwith a newline"))
    for problem in problems:
        assert "\n" not in str(problem) and str(problem).startswith(problem.table)
    error = DataValidationError(problems)
    assert len(str(error).splitlines()) == len(problems)


def test_problem_str_format() -> None:
    problem = Problem("surveys", "score", 12, ["C000017", "C000231", "C004410"], "NPS score outside 0-10")
    assert str(problem) == "surveys.score: 12 rows: NPS score outside 0-10 (e.g. C000017, C000231, C004410)"
    assert str(Problem("surveys", None, 0, [], "table missing")) == "surveys: table missing"


def test_validate_tables_accepts_frames_directly() -> None:
    tables = canonical_tables()
    tables["surveys"]["score"] = tables["surveys"]["score"].astype(str)  # text that parses is fine
    assert validate_tables(**tables) == []
    problems = validate_tables(tables["customers"], None, tables["surveys"])
    assert [str(p) for p in problems] == ["contacts: table missing"]


def test_loader_raises_only_data_validation_error(tmp_path: Path) -> None:
    source = write_source(tmp_path, "csv")
    (source / "customers.csv").write_bytes(b"\x00\x01\x02garbage")
    (source / "contacts.csv").write_text("just one header\n")
    with pytest.raises(DataValidationError) as info:
        load_source(source)
    assert {p.table for p in info.value.problems} >= {"customers", "contacts"}


def test_flat_columns_are_range_checked() -> None:
    from test_io import canonical_tables

    tables = canonical_tables()
    tables["customers"]["csat_score"] = [1, 5, 6, None, 3]
    tables["customers"]["reactive_contacts"] = [0, -2, 1, 1, 1]
    problems = {str(p) for p in validate_tables(**tables)}
    assert any(p.startswith("customers.csat_score: 1 row: CSAT score outside 1-5") and "C003" in p for p in problems)
    assert any(p.startswith("customers.reactive_contacts: 1 row: negative value") and "C002" in p for p in problems)


def test_end_reason_must_be_canonical_and_only_on_customers_who_left() -> None:
    tables = canonical_tables()
    customers = tables["customers"]
    left = customers["end_date"].notna()
    customers["end_reason"] = None
    customers.loc[left[left].index[:1], "end_reason"] = "price"
    assert validate_tables(**tables) == []
    active_ids = customers.loc[~left, "customer_id"].tolist()
    customers.loc[~left, "end_reason"] = "service"
    customers.loc[left[left].index[:1], "end_reason"] = "too expensive"
    problems = [str(p) for p in validate_tables(**tables)]
    assert [p for p in problems if "active customer" in p] == [
        f"customers.end_reason: {len(active_ids)} row{'s' if len(active_ids) != 1 else ''}: end_reason on an "
        f"active customer (no end_date) (e.g. {', '.join(active_ids[:3])})"
    ]
    unknown = [p for p in problems if "unknown end_reason" in p]
    assert len(unknown) == 1 and "'too expensive'" in unknown[0]
    assert "allowed: price, competitor, service, moved, involuntary, other" in unknown[0]
