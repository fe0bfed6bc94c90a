"""Parsing a mapping file (YAML) into a `Mapping`: its tables, their columns and how each is filled."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from cxresearch.data.database import DatabaseSpec, parse_databases
from cxresearch.data.mapping.hints import key_problem
from cxresearch.data.mapping.sources import SourceSpec, parse_sources
from cxresearch.data.schema import (
    FLAT_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SHAPES,
    TABLES,
    TRANSACTION_COLUMNS,
    TREATMENT_COLUMNS,
    treatment_columns,
)
from cxresearch.data.validation.dates import parse_iso_date
from cxresearch.data.validation.problems import DataValidationError, Problem, quote_value
from cxresearch.stats.units import DAYS_PER_MONTH

#: Days per tenure unit (a month is an average Gregorian month, as in `cxresearch.features.snapshot`).
UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": 365.25}

TOP_LEVEL_KEYS = (
    "name", "shape", "as_of", "observed_from", "churn_period_months", "currency", "contacts_period", "notes",
    "databases", "sources", *TABLES, "transactions", "treatments",
)

TABLE_KEYS = ("from", "key", "columns")

COLUMN_KEYS = ("column", "expr", "value", "values", "unit", "format", "scale")

#: `churn_period_months` words meaning "the churn flag covers the whole history" (no left truncation).
WHOLE_HISTORY = ("all",)

#: Optional tables a mapping may fill besides the canonical three (events shape only).
EXTRA_TABLES = ("transactions", "treatments")

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


@dataclass
class Mapping:
    """A parsed mapping file."""

    name: str
    shape: str
    base_dir: Path
    sources: dict[str, SourceSpec]
    tables: dict[str, list[TableSpec]]
    databases: dict[str, DatabaseSpec] = field(default_factory=dict)
    as_of: pd.Timestamp | None = None
    observed_from: pd.Timestamp | None = None
    churn_period_months: float | str | None = None  # months, "all" (the whole history) or None (not said)
    currency: str | None = None
    contacts_period: str | None = None
    notes: list[str] = field(default_factory=list)
    origin: str = ""
    text: str = ""


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
    """Parse a mapping YAML file; relative paths in it are relative to the file. Raises DataValidationError.

    Parameters
    ----------
    path
        The mapping file (YAML, UTF-8).

    Returns
    -------
    Mapping
        The parsed mapping; its sources are not read yet (`apply.load_mapping` does).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataValidationError([Problem("mapping", None, 0, [], f"{path}: cannot be read ({err})")]) from None
    return parse_mapping_text(text, path.resolve().parent, origin=str(path.resolve()))


def parse_mapping_text(text: str, base_dir: Path, origin: str = "") -> Mapping:
    """Parse mapping YAML text; raises DataValidationError listing every mistake.

    Parameters
    ----------
    text
        The mapping's YAML.
    base_dir
        Where relative source paths start.
    origin
        Where the text came from (a file path or an adapter name), for the data's metadata.

    Returns
    -------
    Mapping
        The parsed mapping, keeping `text` for the data's fingerprint.
    """
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
            problems.append(key_problem(str(key), None, "unknown key", TOP_LEVEL_KEYS, name=str(key)))
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
    databases = parse_databases(doc.get("databases"), base_dir, problems)
    # Sources are checked against every database named, so one with a mistake is not reported again per source.
    named = tuple(str(n) for n in doc["databases"]) if isinstance(doc.get("databases"), dict) else ()
    sources = parse_sources(doc.get("sources"), base_dir, problems, named)
    tables: dict[str, list[TableSpec]] = {}
    allowed_tables = ("customers",) if shape == "flat" else (*TABLES, *EXTRA_TABLES)
    for table in (*TABLES, *EXTRA_TABLES):
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
        databases=databases,
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


def targets(table: str, shape: str, columns: list[str] | None = None) -> dict[str, str]:
    """Mapping keys allowed under `<table>.columns`, with their logical types (for treatments, also those of
    `columns` named `outcome_*` or `covariate_*`)."""
    if table == "treatments":
        return treatment_columns(columns)
    if table == "transactions":
        return dict(TRANSACTION_COLUMNS)
    if table == "customers" and shape == "flat":
        return {**REQUIRED_COLUMNS["customers"], **FLAT_DERIVED, **OPTIONAL_COLUMNS["customers"], **FLAT_COLUMNS}
    return {**REQUIRED_COLUMNS[table], **OPTIONAL_COLUMNS[table]}


def _required_targets(table: str, shape: str) -> list[tuple[str, ...]]:
    """Groups of mapping keys of which one must be given, per table."""
    if table == "transactions":
        return [("customer_id",), ("timestamp",), ("amount",)]
    if table == "treatments":
        return [(c,) for c in TREATMENT_COLUMNS]
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
            problems.append(key_problem(key, str(k), "unknown key", TABLE_KEYS))
    origin = raw.get("from")
    names = tuple(str(s) for s in (origin if isinstance(origin, list) else [origin] if origin else []))
    if not names:
        problems.append(Problem(key, "from", 0, [], "missing: name the source(s) this table comes from"))
    for name in names:
        if sources and name not in sources:
            problems.append(key_problem(key, "from", f"unknown source {name!r}", tuple(sources), name=name))
    join_key = raw.get("key")
    if len(names) > 1 and not join_key:
        problems.append(Problem(key, "key", 0, [], f"needed to join {', '.join(names)}: the id column they share"))
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, dict) or not columns_raw:
        problems.append(Problem(key, "columns", 0, [], "missing: map canonical columns to source columns"))
        return None
    allowed = targets(table, shape, [str(t) for t in columns_raw])
    columns: dict[str, ColumnSpec] = {}
    for target, spec in columns_raw.items():
        path = f"{key}.columns"
        target = str(target)
        if target not in allowed:
            problems.append(key_problem(path, target, "not a canonical column", tuple(allowed)))
            continue
        parsed = _parse_column_spec(f"{path}.{target}", target, allowed[target], spec, problems)
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
            problems.append(key_problem(key, None, f"unknown option {k!r}", COLUMN_KEYS, name=str(k)))
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
