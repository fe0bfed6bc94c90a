"""Canonical columns parsed into their logical types; a problem per column with values that do not parse."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable

import numpy as np
import pandas as pd

from cxresearch.data.schema import TEXT_DTYPE, column_types
from cxresearch.data.validation.problems import N_EXAMPLES, Problem, quote_value, row_problem

#: Columns holding identifiers: kept exactly as given, so surrounding whitespace is a problem, not trimmed.
ID_COLUMNS: tuple[str, ...] = ("customer_id", "contact_id")

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
        out, column_problems, bad_values = parse_frame(df, table, column_types(table))
        problems += column_problems
        unparsed |= {(table, name): bad for name, bad in bad_values.items()}
        typed[table] = out
    return typed, problems, unparsed


def parse_frame(
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
            problems.append(row_problem(df, table, name, bad, f"{expected}: {found}"))
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
        problems.append(row_problem(df, table, name, df.index.isin(padded), message, quote=True))
    long = (values.str.len() > MAX_ID_LENGTH).fillna(False).to_numpy(dtype=bool)
    if long.any():
        message = f"id longer than {MAX_ID_LENGTH} characters"
        problems.append(row_problem(df, table, name, long, message, quote=True))
    return problems


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
