"""One mapped column's values: taken, computed or constant, then recoded, dated, scaled and unit-converted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from cxresearch.data.mapping.hints import first_line, near
from cxresearch.data.mapping.sources import SourceSpec
from cxresearch.data.mapping.spec import UNITS, ColumnSpec, TableSpec
from cxresearch.data.validation.dates import read_day_month_dates
from cxresearch.data.validation.problems import N_EXAMPLES, Problem, quote_value


@dataclass
class Build:
    """What building the tables collects besides the tables: problems, notes, each column's source."""

    sources: dict[str, SourceSpec]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def column_values(
    column: ColumnSpec, joined: pd.DataFrame, spec: TableSpec, owners: dict[str, SourceSpec], logical: str,
    build: Build,
) -> pd.Series | None:
    """One mapped column: taken, computed or constant; then recoded, dated, scaled and unit-converted."""
    problems = build.problems
    owner = owners.get(column.column) if column.column is not None else None
    if column.column is not None:
        if column.column not in joined.columns:
            sources = ", ".join(spec.sources)
            problems.append(
                Problem(column.key, None, 0, [], f"no column {quote_value(column.column)} in {sources}" + near(column.column, joined))
            )
            return None
        values = joined[column.column]
        if logical in ("float", "int"):
            values, misread = _localized(values, owner)
            if misread.any():
                marks = f"decimal {owner.decimal or '.'!r}" + (f", thousands {owner.thousands!r}" if owner.thousands else "")
                problems.append(Problem(column.key, None, int(misread.sum()),
                                        [quote_value(v) for v in values[misread].unique()[:N_EXAMPLES]],
                                        f"{column.describe()}: not a number written with {marks} (sources.{owner.name})"))
                return None
            if not _decimal_comma_hint(column, values, owner, problems):
                return None
    elif column.expr is not None:
        values = _evaluate(column, joined, owners, problems)
        if values is None:
            return None
    else:
        values = pd.Series([column.value] * len(joined), index=joined.index, dtype=object)
    if column.values is not None:
        values = _recode(column, values, problems)
        if values is None:
            return None
    date_format = column.date_format or (owner.date_format if owner is not None else None)
    if logical == "datetime" and date_format is not None:
        parsed = pd.to_datetime(values.astype(object), format=date_format, errors="coerce")
        if not _report_unparsed(column, values, parsed, f"not a date in format {date_format!r}", problems):
            return None
        values = parsed
    elif logical == "datetime":
        values = _text_dates(column, values, owner, build)
        if values is None:
            return None
    if column.scale is not None or column.unit is not None:
        numbers = pd.to_numeric(values.astype(object), errors="coerce")
        if not _report_unparsed(column, values, numbers, "not a number", problems):
            return None
        values = numbers * (column.scale or 1.0) * UNITS.get(column.unit or "days", 1.0)
    return values


def _text_dates(column: ColumnSpec, values: pd.Series, owner: SourceSpec | None, build: Build) -> pd.Series | None:
    """Text dates that are not ISO 8601, read day or month first (see `read_day_month_dates`); else unchanged."""
    reading = read_day_month_dates(values, owner.dayfirst if owner is not None else None)
    if reading.problem:
        build.problems.append(Problem(column.key, None, reading.n_rows, [quote_value(v) for v in reading.examples],
                                      f"{column.describe()}: {reading.problem}"))
        return None
    if reading.dates is None:
        return values
    if not _report_unparsed(column, values, reading.dates, "not a valid date", build.problems):
        return None
    if reading.inferred:
        order = "day first (DD/MM)" if reading.dayfirst else "month first (MM/DD)"
        build.notes.append(
            f"{column.key}: dates in {column.describe()} read {order}, the only reading that fits every value "
            f"(some {'day' if reading.dayfirst else 'month-first day'} is above 12)."
        )
    return reading.dates


def _localized(values: pd.Series, owner: SourceSpec | None) -> tuple[pd.Series, pd.Series]:
    """Text numbers written with the source's decimal mark and thousands separator, rewritten as 1234.56,
    and the mask of number-like values that do not follow them (e.g. `1.5` with `decimal: ","`).

    Thousands separators are removed only between groups of three digits. Other text (words, ids without
    separators such as 00123) is left as it is.
    """
    if owner is None or not owner.localized or values.dtype != object:
        return values, pd.Series(False, index=values.index)
    decimal = re.escape(owner.decimal or ".")
    grouped = rf"\d{{1,3}}(?:{re.escape(owner.thousands)}\d{{3}})+|" if owner.thousands else ""
    pattern = re.compile(rf"^\s*([+-]?)({grouped}\d*)(?:{decimal}(\d*))?\s*$")
    text = values.map(lambda v: v if isinstance(v, str) else None, na_action="ignore")
    parts = text.str.extract(pattern)
    matched = parts[1].fillna("").str.len().gt(0) | parts[2].fillna("").str.len().gt(0)
    whole = parts[1].fillna("").str.replace(owner.thousands, "", regex=False) if owner.thousands else parts[1]
    fraction = parts[2].fillna("")
    number = parts[0].fillna("") + whole.where(whole.str.len() > 0, "0") + ("." + fraction).where(fraction.str.len() > 0, "")
    number_like = text.astype(object).str.match(_NUMBER_LIKE, na=False).astype(bool)
    return values.where(~matched, number), number_like & ~matched

#: Text made only of digits, signs and separators (with at least one separator): a number in some notation.
_NUMBER_LIKE = re.compile(r"^\s*[+-]?\d[\d.,' ]*[.,'][\d.,' ]*\s*$")


def _decimal_comma_hint(column: ColumnSpec, values: pd.Series, owner: SourceSpec | None, problems: list[Problem]) -> bool:
    """Report numbers written with a comma in a source without `decimal` or `thousands`; True when none are."""
    if values.dtype != object or (owner is not None and owner.localized):
        return True
    text = values.dropna().astype(str).str.strip()
    comma = text.str.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})*,\d+|[+-]?\d+,\d+")
    if not comma.any() or pd.to_numeric(text[comma], errors="coerce").notna().any():
        return True
    where = f"sources.{owner.name}" if owner is not None else "the source"
    problems.append(Problem(column.key, None, int(comma.sum()), [quote_value(v) for v in text[comma].unique()[:N_EXAMPLES]],
                            f"{column.describe()}: numbers with a comma; set decimal: \",\" (and thousands: \".\" "
                            f"if used) in {where}, or thousands: \",\" if the comma separates thousands"))
    return False


def _evaluate(
    column: ColumnSpec, joined: pd.DataFrame, owners: dict[str, SourceSpec], problems: list[Problem]
) -> pd.Series | None:
    """A DuckDB SQL expression over the joined source columns (all-numeric text columns read as numbers)."""
    # A column with values that do not follow its source's decimal mark stays text (and fails in arithmetic).
    localized = joined.apply(lambda s: _localized_or_text(s, owners.get(str(s.name))))
    frame = localized.apply(_numeric_if_possible).assign(__row=np.arange(len(joined)))
    con = duckdb.connect()
    try:
        con.register("src", frame)
        result = con.execute(f"SELECT __row, ({column.expr}) AS value FROM src ORDER BY __row").df()
    except duckdb.Error as err:
        problems.append(Problem(column.key, None, 0, [], f"expr {quote_value(column.expr, 60)} failed: {first_line(err)}"))
        return None
    finally:
        con.close()
    return pd.Series(result["value"].to_numpy(), index=joined.index)


def _localized_or_text(values: pd.Series, owner: SourceSpec | None) -> pd.Series:
    """`_localized` values, or the column unchanged when some of them do not follow the source's marks."""
    rewritten, misread = _localized(values, owner)
    return values if misread.any() else rewritten


def _numeric_if_possible(s: pd.Series) -> pd.Series:
    """Text columns whose every value is a number, as numbers (for SQL arithmetic); others unchanged."""
    if s.dtype != object:
        return s
    numbers = pd.to_numeric(s, errors="coerce")
    return numbers if numbers.notna().sum() == s.notna().sum() and s.notna().any() else s


def _value_key(value: Any) -> tuple[str, Any] | None:
    """A comparable form of a source value or a `values` key: "1", 1 and 1.0 match; text is stripped."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return ("bool", bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return ("num", float(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return ("text", text)
    return ("num", number) if np.isfinite(number) else ("text", text)


def _recode(column: ColumnSpec, values: pd.Series, problems: list[Problem]) -> pd.Series | None:
    """Source values through the `values` map; a non-missing value not in the map is a problem."""
    lookup = {_value_key(k): v for k, v in column.values.items()}
    keys = values.map(_value_key, na_action="ignore")
    unmapped = values.notna() & ~keys.isin(list(lookup))
    if unmapped.any():
        found = values[unmapped].drop_duplicates()
        allowed = ", ".join(quote_value(str(k)) for k in list(column.values)[:6])
        problems.append(
            Problem(column.key, None, int(unmapped.sum()), [quote_value(str(v)) for v in found.head(N_EXAMPLES)],
                    f"{column.describe()} has values not in `values` (mapped: {allowed})")
        )
        return None
    return keys.map(lambda k: lookup.get(k), na_action="ignore").astype(object).where(values.notna(), None)


def _report_unparsed(column: ColumnSpec, raw: pd.Series, parsed: pd.Series, expected: str, problems: list[Problem]) -> bool:
    """Add a problem when present values did not parse; True when all did."""
    bad = raw.notna() & parsed.isna()
    if bad.any():
        problems.append(
            Problem(column.key, None, int(bad.sum()), [quote_value(str(v)) for v in raw[bad].drop_duplicates().head(N_EXAMPLES)],
                    f"{column.describe()}: {expected}")
        )
    return not bad.any()
