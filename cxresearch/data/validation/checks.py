"""Checks on tables already typed by `parse_tables`: per table (pandera) and between tables (pandas).

Every problem found is collected as a `Problem` (table, column, number of rows, example customer ids or row
numbers); nothing is fixed or dropped silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

from cxresearch.data.schema import (
    DIRECTIONS,
    END_REASONS,
    FLAT_COLUMNS,
    REQUIRED_COLUMNS,
    SCORE_RANGES,
    TABLES,
    TEXT_DTYPE,
    TRANSACTION_COLUMNS,
    column_types,
)
from cxresearch.data.validation.parse import Unparsed, parse_frame, parse_tables
from cxresearch.data.validation.problems import (
    N_EXAMPLES,
    Problem,
    has_columns,
    near_miss,
    quote_value,
    row_problem,
)

if TYPE_CHECKING:
    import pandera.pandas as pa

#: Columns holding dates or timestamps, per table.
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(c for c, t in column_types(table).items() if t == "datetime") for table in TABLES
}


def validate_tables(
    customers: pd.DataFrame | None,
    contacts: pd.DataFrame | None,
    surveys: pd.DataFrame | None,
    *,
    observed_until: pd.Timestamp | None = None,
) -> list[Problem]:
    """All problems in three canonical tables (any column dtypes; None = table missing); [] when valid.

    Parameters
    ----------
    customers, contacts, surveys
        The canonical tables, any column dtypes; None for a missing table.
    observed_until
        End of observation: later dates are problems. None skips that check.

    Returns
    -------
    list[Problem]
        Every problem found; [] when the tables are valid.
    """
    frames = {"customers": customers, "contacts": contacts, "surveys": surveys}
    problems = [Problem(t, None, 0, [], "table missing") for t, df in frames.items() if df is None]
    typed, parse_problems, unparsed = parse_tables(frames)
    return problems + parse_problems + check_tables(typed, observed_until, unparsed)


def check_tables(
    frames: dict[str, pd.DataFrame | None],
    observed_until: pd.Timestamp | None,
    unparsed: Unparsed | None = None,
    *,
    until_label: str | None = None,
) -> list[Problem]:
    """Per-table checks (pandera) and relational checks (pandas) on tables already through `parse_tables`;
    `until_label` says what `observed_until` is in messages about later dates (default: its date)."""
    problems: list[Problem] = []
    for table, df in frames.items():
        if df is not None:
            problems += _pandera_problems(table, df, unparsed or {})
    return problems + _relational_problems(frames, observed_until, until_label)


def _finite(s: pd.Series) -> pd.Series:
    """True where a float is finite or missing (missing values are the nullability check's business)."""
    return s.isna() | np.isfinite(s.astype("float64"))


def _non_negative(s: pd.Series) -> pd.Series:
    """True where a number is >= 0 or missing."""
    return s.isna() | (s.astype("float64") >= 0)


def _column_checks(table: str, df: pd.DataFrame) -> dict[str, list[pa.Check]]:
    """Value checks per column (beyond nullability and uniqueness); `{found}` in a message names bad values.

    Checks involving two columns are column checks closing over `df` rather than DataFrame-wide checks:
    pandera reshapes wide-check failures row by row, which takes minutes on 100k failing rows. Pandera hands
    column checks the non-null values only, hence the `.loc` alignment.
    """
    # Imported here: pandera takes about a second to import, and a notebook reading its suite run's
    # already-validated tables never validates.
    import pandera.pandas as pa

    finite = pa.Check(_finite, error="not a finite number: {found}")
    non_negative = pa.Check(_non_negative, error="negative value: {found}")
    checks: dict[str, dict[str, list[pa.Check]]] = {
        "customers": {
            "monthly_margin": [finite],
            "acquisition_cost": [finite, non_negative],
            "n_referrals": [non_negative],
            **{c: [non_negative] for c in FLAT_COLUMNS if c.endswith("_contacts")},
            "end_reason": [
                pa.Check.isin(
                    END_REASONS, error=f"unknown end_reason {{found}} (allowed: {', '.join(END_REASONS)})"
                )
            ],
            **{
                f"{name}_score": [
                    pa.Check(
                        lambda s, lo=low, hi=high: s.between(lo, hi),
                        error=f"{name.upper()} score outside {low}-{high}: {{found}}",
                    )
                ]
                for name, (low, high) in SCORE_RANGES.items()
            },
        },
        "contacts": {
            "direction": [
                pa.Check.isin(
                    DIRECTIONS, error=f"unknown direction {{found}} (allowed: {', '.join(DIRECTIONS)})"
                )
            ],
            "handle_minutes": [finite, non_negative],
        },
        "surveys": {
            "instrument": [
                pa.Check.isin(
                    list(SCORE_RANGES),
                    error=f"unknown instrument {{found}} (allowed: {', '.join(SCORE_RANGES)})",
                )
            ],
        },
    }
    if table == "customers" and {"signup_date", "end_date"} <= set(df.columns):
        signup = df["signup_date"]
        checks["customers"]["end_date"] = [
            pa.Check(lambda end: ~(end < signup.loc[end.index]), error="end_date before signup_date")
        ]
    if table == "customers" and {"end_date", "end_reason"} <= set(df.columns):
        end = df["end_date"]
        # A reason says why a customer left: on an active customer it is a mapping or export error.
        checks["customers"]["end_reason"].append(
            pa.Check(
                lambda reason: end.loc[reason.index].notna(), error="end_reason on an active customer (no end_date)"
            )
        )
    if table == "surveys" and "instrument" in df.columns:
        instrument = df["instrument"]
        checks["surveys"]["score"] = [
            pa.Check(
                lambda score, i=name, lo=low, hi=high: (
                    (instrument.loc[score.index] != i) | score.between(lo, hi)
                ),
                error=f"{name.upper()} score outside {low}-{high}",
            )
            for name, (low, high) in SCORE_RANGES.items()
        ]
    return checks[table]


def _pandera_problems(table: str, df: pd.DataFrame, unparsed: Unparsed) -> list[Problem]:
    """Required columns, nulls in required columns, duplicate customer ids and value checks, via pandera."""
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    value_checks = _column_checks(table, df)
    columns = {
        name: pa.Column(
            nullable=name == "end_date",  # end_date is null while the customer is active
            unique=table == "customers" and name == "customer_id",
            checks=value_checks.get(name, []),
        )
        for name in REQUIRED_COLUMNS[table]
    }
    columns |= {
        name: pa.Column(nullable=True, required=False, checks=value_checks.get(name, []))
        for name in column_types(table)
        if name not in REQUIRED_COLUMNS[table]
    }
    try:
        pa.DataFrameSchema(columns, name=table).validate(df, lazy=True)
    except SchemaErrors as err:
        return _failure_cases_to_problems(table, df, err.failure_cases, unparsed)
    return []


def _failure_cases_to_problems(
    table: str, df: pd.DataFrame, cases: pd.DataFrame, unparsed: Unparsed
) -> list[Problem]:
    """One Problem per (column, check) in pandera's failure cases."""
    problems = []
    for check, rows in cases.groupby("check", sort=False, dropna=False):
        check = str(check)
        if check == "column_in_dataframe":
            for name in rows["failure_case"]:
                problems.append(
                    Problem(table, str(name), 0, [], "missing required column" + near_miss(name, df))
                )
            continue
        for column, group in rows.groupby("column", sort=False):
            mask = df.index.isin(group["index"].dropna().astype(int))
            if check == "not_nullable":
                # Values that failed to parse are null now, but were reported as wrong types already.
                mask &= ~unparsed.get((table, str(column)), np.zeros(len(df), dtype=bool))
                if not mask.any():
                    continue
                message = "missing value in required column"
            elif check == "field_uniqueness":
                message = "duplicate customer_id"
            elif "{found}" in check:
                found = ", ".join(quote_value(v) for v in group["failure_case"].drop_duplicates().head(N_EXAMPLES))
                message = check.format(found=found)
            else:
                message = check
            problems.append(row_problem(df, table, str(column), mask, message))
    return problems


def check_transactions(
    df: pd.DataFrame, customers: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Purchases typed (`TRANSACTION_COLUMNS`) and checked: required columns, parseable values, amounts
    finite and >= 0, customers known; (typed frame or None, problems)."""
    table = "transactions"
    df = df.reset_index(drop=True)
    problems = [
        Problem(table, name, 0, [], "missing required column" + near_miss(name, df))
        for name in ("customer_id", "timestamp", "amount")
        if name not in df.columns
    ]
    if problems:
        return None, problems
    typed, problems, _ = parse_frame(df, table, TRANSACTION_COLUMNS)
    for name in ("customer_id", "timestamp", "amount"):
        missing = (df[name].isna()).to_numpy()
        if missing.any():
            problems.append(row_problem(typed, table, name, missing, "missing value in required column"))
    amount = typed["amount"]
    negative = (amount.notna() & ~(np.isfinite(amount) & (amount >= 0))).to_numpy()
    if negative.any():
        problems.append(row_problem(typed, table, "amount", negative, "negative or non-finite amount"))
    if customers is not None and "customer_id" in customers:
        unknown = (typed["customer_id"].notna() & ~typed["customer_id"].isin(customers["customer_id"])).to_numpy()
        if unknown.any():
            problems.append(row_problem(typed, table, "customer_id", unknown, "customer_id not in customers"))
    return (None if problems else typed), problems


def _relational_problems(
    frames: dict[str, pd.DataFrame | None], observed_until: pd.Timestamp | None, until_label: str | None = None
) -> list[Problem]:
    """Events for unknown customers or outside a customer's lifetime (same day allowed); future dates."""
    problems: list[Problem] = []
    customers = frames.get("customers")
    has = has_columns
    if has(customers, "customer_id", "signup_date", "end_date"):
        first = (customers["customer_id"].notna() & ~customers["customer_id"].duplicated()).to_numpy()
        known = _arrow_text(customers["customer_id"][first])
        signup_day = customers["signup_date"][first].dt.normalize().to_numpy()
        # An event on the end day is still within the lifetime: compare with the start of the next day.
        after_end_day = (customers["end_date"][first].dt.normalize() + pd.Timedelta(days=1)).to_numpy()
        for table in ("contacts", "surveys"):
            events = frames.get(table)
            if not has(events, "customer_id", "timestamp"):
                continue
            # Positions of each event's customer among the known ids (-1: unknown), by an Arrow hash join.
            position = pc.fill_null(pc.index_in(_arrow_text(events["customer_id"]), value_set=known), -1)
            position = position.to_numpy(zero_copy_only=False).astype(np.int64)
            found = position >= 0
            unknown = events["customer_id"].notna().to_numpy() & ~found
            if unknown.any():
                problems.append(
                    row_problem(events, table, "customer_id", unknown, "customer_id not in customers")
                )
            if not found.any():
                continue
            timestamp = events["timestamp"].to_numpy()
            at = np.where(found, position, 0)
            before = found & (timestamp < signup_day[at])
            if before.any():
                problems.append(
                    row_problem(
                        events, table, "timestamp", before, "event before the customer's signup_date"
                    )
                )
            after = found & (timestamp >= after_end_day[at])
            if after.any():
                problems.append(
                    row_problem(events, table, "timestamp", after, "event after the customer's end_date")
                )
    if observed_until is not None and not pd.isna(observed_until):
        limit = pd.Timestamp(observed_until).normalize() + pd.Timedelta(days=1)
        for table, df in frames.items():
            for column in DATE_COLUMNS[table]:
                if has(df, column) and pd.api.types.is_datetime64_dtype(df[column].dtype):
                    future = (df[column] >= limit).to_numpy()
                    if future.any():
                        problems.append(
                            row_problem(
                                df,
                                table,
                                column,
                                future,
                                "date after the end of observation "
                                f"({until_label or pd.Timestamp(observed_until).date()})",
                            )
                        )
    return problems


def _arrow_text(s: pd.Series) -> pa_arrow.Array:
    """A text column as one Arrow string array (no copy when it is already Arrow-backed)."""
    array = pa_arrow.array(s.astype(TEXT_DTYPE), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa_arrow.ChunkedArray) else array
