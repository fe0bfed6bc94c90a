"""Validation of the canonical tables: type parsing, per-table checks (pandera), relational checks (pandas).

Every problem found is collected as a `Problem` (table, column, number of rows, example customer ids or row
numbers); nothing is fixed or dropped silently. Row numbers count data rows from 1 (a CSV header is no row).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable
from dataclasses import dataclass
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

if TYPE_CHECKING:
    import pandera.pandas as pa

#: Columns holding identifiers: kept exactly as given, so surrounding whitespace is a problem, not trimmed.
ID_COLUMNS: tuple[str, ...] = ("customer_id", "contact_id")

#: Columns holding dates or timestamps, per table.
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(c for c, t in column_types(table).items() if t == "datetime") for table in TABLES
}

#: How many example ids or row numbers a problem names.
N_EXAMPLES = 3

#: Longest id accepted (characters); longer ones are broken exports (e.g. an unclosed quote swallowing rows).
MAX_ID_LENGTH = 256

_BOOL_WORDS = {
    "true": True,
    "t": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "f": False,
    "no": False,
    "n": False,
    "0": False,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data source; `n_rows` is 0 for table-level problems (missing file or column)."""

    table: str
    column: str | None
    n_rows: int
    examples: list[str]
    message: str

    def __str__(self) -> str:
        """One line: `table.column: N rows: message (e.g. id1, id2, id3)`."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        rows = f" {self.n_rows:,} row{'s' if self.n_rows != 1 else ''}:" if self.n_rows else ""
        examples = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return " ".join(f"{where}:{rows} {self.message}{examples}".splitlines())


class DataValidationError(Exception):
    """A data source failed validation; `problems` lists everything found, `str()` gives one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def validate_tables(
    customers: pd.DataFrame | None,
    contacts: pd.DataFrame | None,
    surveys: pd.DataFrame | None,
    *,
    observed_until: pd.Timestamp | None = None,
) -> list[Problem]:
    """All problems in three canonical tables (any column dtypes; None = table missing); [] when valid."""
    frames = {"customers": customers, "contacts": contacts, "surveys": surveys}
    problems = [Problem(t, None, 0, [], "table missing") for t, df in frames.items() if df is None]
    typed, parse_problems, unparsed = parse_tables(frames)
    return problems + parse_problems + check_tables(typed, observed_until, unparsed)


#: Per (table, column): rows whose value was present but did not parse (reported once, as a type problem).
Unparsed = dict[tuple[str, str], np.ndarray]


def parse_tables(
    frames: dict[str, pd.DataFrame | None],
) -> tuple[dict[str, pd.DataFrame | None], list[Problem], Unparsed]:
    """Canonical columns converted to their logical types, a problem per column with unparseable values, and
    where those values were.

    Dates become tz-naive datetime64[ns] (tz-aware values are converted to UTC first), floats float64, ints
    int64 (nullable Int64 if an optional column has gaps), bools pandas `boolean`, text `TEXT_DTYPE`. Values
    that do not parse become null. Unknown columns are kept as they are. The index is reset so that row N is
    index N - 1.
    """
    typed: dict[str, pd.DataFrame | None] = {}
    problems: list[Problem] = []
    unparsed: Unparsed = {}
    for table, df in frames.items():
        if df is None:
            typed[table] = None
            continue
        df = df.reset_index(drop=True)
        duplicated = df.columns[df.columns.duplicated()].unique()
        for name in duplicated:
            problems.append(
                Problem(table, str(name), 0, [], "column appears more than once (the first is used)")
            )
        df = df.loc[:, ~df.columns.duplicated()]
        out, column_problems, bad_values = _parse_frame(df, table, column_types(table))
        problems += column_problems
        unparsed |= {(table, name): bad for name, bad in bad_values.items()}
        typed[table] = out
    return typed, problems, unparsed


def _parse_frame(
    df: pd.DataFrame, table: str, logical: dict[str, str]
) -> tuple[pd.DataFrame, list[Problem], dict[str, np.ndarray]]:
    """`df` with its `logical` columns typed (others kept as they are), a problem per column with unparseable
    values or malformed ids, and per column the mask of values that did not parse."""
    out, problems, unparsed = {}, [], {}
    for name in df.columns:
        if name not in logical:
            out[name] = df[name]
            continue
        values, bad, expected = _parse_column(df[name], logical[name])
        out[name] = values
        if bad.any():
            unparsed[name] = bad
            found = ", ".join(quote_value(v) for v in df[name][bad].drop_duplicates().head(N_EXAMPLES))
            problems.append(_row_problem(df, table, name, bad, f"{expected}: {found}"))
        if name in ID_COLUMNS and values.notna().any():
            problems += _id_problems(df, table, name, values)
    return pd.DataFrame(out, index=df.index), problems, unparsed


def _id_problems(df: pd.DataFrame, table: str, name: str, values: pd.Series) -> list[Problem]:
    """Ids with surrounding whitespace (kept exactly as given, so a problem) or longer than `MAX_ID_LENGTH`."""
    problems = []
    text = values.dropna()
    padded = text.index[text.str.strip() != text]
    if len(padded):
        message = "leading or trailing whitespace in id (ids are kept exactly as given)"
        problems.append(_row_problem(df, table, name, df.index.isin(padded), message, quote=True))
    long = (values.str.len() > MAX_ID_LENGTH).fillna(False).to_numpy(dtype=bool)
    if long.any():
        message = f"id longer than {MAX_ID_LENGTH} characters"
        problems.append(_row_problem(df, table, name, long, message, quote=True))
    return problems


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


# --- parsing -------------------------------------------------------------------------------------------


def _parse_column(s: pd.Series, logical: str) -> tuple[pd.Series, np.ndarray, str]:
    """(typed values, mask of non-null values that did not parse, what was expected) for one column."""
    parser = _PARSERS[logical]
    scalars = s
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        # Only text, numbers, booleans and dates are values: bytes, lists or dicts (e.g. from Parquet) are
        # not, and are reported as unparseable rather than handed to parsers that raise on them.
        scalars = s.map(lambda v: v if isinstance(v, _SCALARS) else None, na_action="ignore")
    values, expected = parser(scalars)
    bad = (s.notna() & values.isna()).to_numpy()
    return values, bad, expected


_SCALARS = (str, int, float, bool, decimal.Decimal, dt.date, np.generic)


def _parse_str(s: pd.Series) -> tuple[pd.Series, str]:
    """Text as `TEXT_DTYPE`; integer codes (e.g. numeric ids from Parquet) become their decimal text."""
    if s.dtype == TEXT_DTYPE:
        return s, "expected text"
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype(str).where(s.notna(), None).astype(TEXT_DTYPE), "expected text"
    if pd.api.types.is_float_dtype(s.dtype):
        # Integer codes with gaps arrive as floats (12.0); fractional values are no codes.
        whole = s.where(np.isfinite(s) & (s == np.round(s))).astype("Int64")
        return whole.astype(str).where(whole.notna(), None).astype(TEXT_DTYPE), "expected text or whole-number codes"
    if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
        if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            return s.astype(TEXT_DTYPE), "expected text"
        # Mixed objects (e.g. a DataFrame built by hand): only real strings count as text.
        values = s.astype(object)
        is_text = values.map(lambda v: isinstance(v, str), na_action="ignore").fillna(False).astype(bool)
        return values.where(is_text, None).astype(TEXT_DTYPE), "expected text"
    return pd.Series(np.nan, index=s.index, dtype=TEXT_DTYPE), f"expected text, not {s.dtype}"


def _parse_datetime(s: pd.Series) -> tuple[pd.Series, str]:
    """Dates and timestamps as tz-naive datetime64[ns]; text must be ISO 8601."""
    expected = "not an ISO 8601 date/time within 1677-2262"
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        # Parquet may hold µs/ms timestamps beyond the datetime64[ns] range (e.g. 9999-12-31 sentinels).
        in_range = s.isna() | ((s >= pd.Timestamp.min) & (s <= pd.Timestamp.max))
        return s.where(in_range).astype("datetime64[ns]"), expected
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), f"expected a date, not {s.dtype}"
    parsed = pd.to_datetime(s.astype(object), format="ISO8601", errors="coerce", utc=True)
    return parsed.dt.tz_localize(None).astype("datetime64[ns]"), expected


#: A date written day and month first in either order, then the year: 03/04/2024, 31.12.24, 4-3-2024 12:30.
_DAY_MONTH = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?$")

_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")

#: Strictly `YYYY-MM-DD`: how dates are written in a mapping file and dataset.json.
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class DateReading:
    """Text dates read day first or month first: `dates` (NaT where unreadable), or `problem` when refused.

    `dayfirst` is the reading used (None when the values were ISO 8601 and left to `parse_tables`);
    `inferred` is True when the data, not the mapping, decided it (some day above 12).
    """

    dates: pd.Series | None
    dayfirst: bool | None = None
    inferred: bool = False
    problem: str = ""
    examples: tuple[str, ...] = ()
    n_rows: int = 0  # rows the problem is about


def read_day_month_dates(values: pd.Series, dayfirst: bool | None = None) -> DateReading:
    """Text dates such as 31.12.2024 or 12/31/2024 as datetime64[ns], reading day/month as `dayfirst` says.

    Without `dayfirst`, the order is inferred only when the data settles it (a first field above 12 means day
    first, a second field above 12 month first); dates valid in both readings are refused, as is a column
    mixing both. ISO 8601 values are read as such; a column of only ISO 8601 text is left to `parse_tables`
    (`dates` None). Two-digit years are 2000-2068 or 1969-1999.
    """
    present = values.dropna()
    if values.dtype != object or present.empty:
        return DateReading(None)
    text = present.astype(str).str.strip()
    iso = text.str.match(_ISO_START)
    if iso.all():  # ISO 8601 dates, checked fully by `parse_tables`
        return DateReading(None)
    parts = text.str.extract(_DAY_MONTH)
    unmatched = parts[0].isna() & ~iso
    if unmatched.any():
        return DateReading(None, problem="not a date: write YYYY-MM-DD, or give the column's format "
                           "(e.g. format: \"%d.%m.%Y\")", examples=tuple(text[unmatched].unique()[:N_EXAMPLES]),
                           n_rows=int(unmatched.sum()))
    text, parts = text[~iso], parts[~iso]
    first, second = parts[0].astype(int), parts[2].astype(int)
    inferred = dayfirst is None
    if inferred:
        day_first_fits, month_first_fits = bool((second <= 12).all()), bool((first <= 12).all())
        if day_first_fits and month_first_fits and not (first == second).all():
            ambiguous = text[(first != second)].unique()[:N_EXAMPLES]
            return DateReading(None, problem="day and month could be either way round (no value above 12 "
                               "settles it): set dayfirst: true (31.12.2024) or dayfirst: false (12/31/2024) on "
                               "the source, or the column's format (e.g. \"%d/%m/%Y\")",
                               examples=tuple(ambiguous), n_rows=len(text))
        if not (day_first_fits or month_first_fits):
            mixed = text[(first > 12) | (second > 12)].unique()[:N_EXAMPLES]
            return DateReading(None, problem="mixes day-first and month-first dates (values above 12 in both "
                               "places): export the dates as YYYY-MM-DD", examples=tuple(mixed), n_rows=len(text))
        dayfirst = day_first_fits
    day, month = (first, second) if dayfirst else (second, first)
    year = parts[3].astype(int)
    year = year.where(parts[3].str.len() == 4, year + np.where(year <= 68, 2000, 1900))
    iso_text = (year.map("{:04d}".format) + "-" + month.map("{:02d}".format) + "-" + day.map("{:02d}".format)
                + (" " + parts[4]).fillna(""))
    written_iso = present[iso].astype(str).str.strip()
    parsed = pd.concat([pd.to_datetime(iso_text, format="ISO8601", errors="coerce"),
                        pd.to_datetime(written_iso, format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)])
    return DateReading(parsed.reindex(values.index).astype("datetime64[ns]"), dayfirst=dayfirst, inferred=inferred)


def parse_iso_date(value: object, with_time: bool = False) -> pd.Timestamp | None:
    """A date written `YYYY-MM-DD` (any ISO 8601 date/time `with_time`), or a YAML/JSON date, as a tz-naive
    Timestamp (UTC when a zone is given); None when it is not one."""
    if isinstance(value, dt.date):
        stamp = pd.Timestamp(value)
    elif isinstance(value, str) and (with_time or ISO_DAY.match(value.strip())):
        stamp = pd.to_datetime(value.strip(), format="ISO8601", errors="coerce")
    else:
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def _parse_float(s: pd.Series) -> tuple[pd.Series, str]:
    """Numbers as float64."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(np.nan, index=s.index), f"expected a number, not {s.dtype}"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64"), "not a number"
    return pd.to_numeric(s.astype(object), errors="coerce").astype("float64"), "not a number"


def _parse_int(s: pd.Series) -> tuple[pd.Series, str]:
    """Whole numbers as int64 (Int64 when some are missing); 7.0 is accepted as 7, 7.5 is not."""
    if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        # Integers without gaps (e.g. from Parquet) need no float round trip, only the same range rule.
        within = (s > -(2**53)) & (s < 2**53)
        if within.all():
            return s.astype("int64"), "not a whole number"
    numbers, _ = _parse_float(s)
    # Beyond 2**53 a float no longer holds every whole number, and near 2**63 it would not fit int64.
    exact = np.isfinite(numbers) & (numbers == np.round(numbers)) & (numbers.abs() < 2**53)
    whole = numbers.where(exact).astype("Int64")
    return (whole.astype("int64") if whole.notna().all() else whole), "not a whole number"


def parse_bool(s: pd.Series) -> tuple[pd.Series, str]:
    """Booleans as pandas nullable `boolean`; text true/false, yes/no, t/f, y/n, 1/0 in any case."""
    expected = "not a boolean (true/false)"
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), expected
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.map({1: True, 0: False}).astype("boolean"), expected
    words = s.astype(object).astype("string").str.strip().str.lower()
    return words.map(_BOOL_WORDS).astype("boolean"), expected


_PARSERS: dict[str, Callable[[pd.Series], tuple[pd.Series, str]]] = {
    "str": _parse_str,
    "datetime": _parse_datetime,
    "float": _parse_float,
    "int": _parse_int,
    "bool": parse_bool,
}


# --- per-table checks (pandera) ------------------------------------------------------------------------


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
                    Problem(table, str(name), 0, [], "missing required column" + _near_miss(name, df))
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
            problems.append(_row_problem(df, table, str(column), mask, message))
    return problems


def _near_miss(name: str, df: pd.DataFrame) -> str:
    """A hint when the file has the column under a different case or with spaces around it."""
    close = [str(c) for c in df.columns if str(c).strip().lower() == name.lower()]
    return f" (found {quote_value(close[0])}; column names must match exactly)" if close else ""


# --- transactions (optional fourth table) ---------------------------------------------------------------


def check_transactions(
    df: pd.DataFrame, customers: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Purchases typed (`TRANSACTION_COLUMNS`) and checked: required columns, parseable values, amounts
    finite and >= 0, customers known; (typed frame or None, problems)."""
    table = "transactions"
    df = df.reset_index(drop=True)
    problems = [
        Problem(table, name, 0, [], "missing required column" + _near_miss(name, df))
        for name in ("customer_id", "timestamp", "amount")
        if name not in df.columns
    ]
    if problems:
        return None, problems
    typed, problems, _ = _parse_frame(df, table, TRANSACTION_COLUMNS)
    for name in ("customer_id", "timestamp", "amount"):
        missing = (df[name].isna()).to_numpy()
        if missing.any():
            problems.append(_row_problem(typed, table, name, missing, "missing value in required column"))
    amount = typed["amount"]
    negative = (amount.notna() & ~(np.isfinite(amount) & (amount >= 0))).to_numpy()
    if negative.any():
        problems.append(_row_problem(typed, table, "amount", negative, "negative or non-finite amount"))
    if customers is not None and "customer_id" in customers:
        unknown = (typed["customer_id"].notna() & ~typed["customer_id"].isin(customers["customer_id"])).to_numpy()
        if unknown.any():
            problems.append(_row_problem(typed, table, "customer_id", unknown, "customer_id not in customers"))
    return (None if problems else typed), problems


# --- relational checks (pandas) ------------------------------------------------------------------------


def _relational_problems(
    frames: dict[str, pd.DataFrame | None], observed_until: pd.Timestamp | None, until_label: str | None = None
) -> list[Problem]:
    """Events for unknown customers or outside a customer's lifetime (same day allowed); future dates."""
    problems: list[Problem] = []
    customers = frames.get("customers")
    has = _has_columns
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
                    _row_problem(events, table, "customer_id", unknown, "customer_id not in customers")
                )
            if not found.any():
                continue
            timestamp = events["timestamp"].to_numpy()
            at = np.where(found, position, 0)
            before = found & (timestamp < signup_day[at])
            if before.any():
                problems.append(
                    _row_problem(
                        events, table, "timestamp", before, "event before the customer's signup_date"
                    )
                )
            after = found & (timestamp >= after_end_day[at])
            if after.any():
                problems.append(
                    _row_problem(events, table, "timestamp", after, "event after the customer's end_date")
                )
    if observed_until is not None and not pd.isna(observed_until):
        limit = pd.Timestamp(observed_until).normalize() + pd.Timedelta(days=1)
        for table, df in frames.items():
            for column in DATE_COLUMNS[table]:
                if has(df, column) and pd.api.types.is_datetime64_dtype(df[column].dtype):
                    future = (df[column] >= limit).to_numpy()
                    if future.any():
                        problems.append(
                            _row_problem(
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


def _has_columns(df: pd.DataFrame | None, *columns: str) -> bool:
    """Whether a table is present and holds all `columns`."""
    return df is not None and all(c in df.columns for c in columns)


# --- reporting -----------------------------------------------------------------------------------------


def _row_problem(
    df: pd.DataFrame, table: str, column: str, mask: np.ndarray, message: str, quote: bool = False
) -> Problem:
    """A Problem for the rows in `mask`, named by distinct customer id (row number when the id is missing)."""
    positions = np.flatnonzero(mask)
    ids = df["customer_id"].to_numpy()[positions] if "customer_id" in df.columns else [None] * len(positions)
    examples: list[str] = []
    for position, cid in zip(positions, ids, strict=True):
        # Long ids are shortened so a problem stays one readable line.
        if isinstance(cid, str):
            label = quote_value(cid) if quote or len(cid) > 40 else cid
        else:
            label = f"row {position + 1}"
        if label not in examples:
            examples.append(label)
        if len(examples) == N_EXAMPLES:
            break
    return Problem(table, column, len(positions), examples, message)


def quote_value(value: object, width: int = 40) -> str:
    """A short, single-line, quoted rendering of a data value for messages."""
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= width else text[: width - 4] + "...'"
