"""Loading a data source into a validated `CXData`.

`load_source` takes a canonical directory, a mapping file or an adapter string (see `cxresearch.data.sources`).
A canonical directory holding `customers`, `contacts` and `surveys`, each as `<table>.csv` or
`<table>.parquet`, in canonical columns (see `cxresearch.data.schema`), plus an optional `dataset.json`
(`{"name": ..., "observed_until": "YYYY-MM-DD", "observed_from": ..., "shape": "events" | "flat",
"currency": "USD"}`, dates in ISO 8601; `currency` names what amounts are in, see `CXData.currency`), an
optional `transactions` table (purchases) and an optional `treatments` table (campaign assignments, see
`cxresearch.data.validation.treatments`). Bad data never raises anything but
`DataValidationError`, which lists every problem found.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cxresearch.data.schema import (
    SHAPES,
    TABLES,
    TEXT_DTYPE,
    TRANSACTION_COLUMNS,
    CXData,
    column_types,
    treatment_columns,
)
from cxresearch.data.validation.checks import DATE_COLUMNS, check_tables, check_transactions
from cxresearch.data.validation.dates import parse_iso_date
from cxresearch.data.validation.parse import parse_tables
from cxresearch.data.validation.problems import DataValidationError, Problem
from cxresearch.data.validation.sql import check_relations
from cxresearch.data.validation.treatments import check_treatments, treatment_warnings

FORMATS: tuple[str, ...] = ("csv", "parquet")
#: Rows (customers + contacts + surveys, read from the Parquet footers) above which `cxresearch validate` checks
#: a Parquet directory out of core: 40 M rows are ~2.5 M customers of the simulated world, ~6 GiB in pandas.
OUT_OF_CORE_ROWS = 40_000_000
#: DuckDB's buffer for out-of-core work (it spills beyond): well under the 8 GiB a 10 M-customer base may use.
DUCKDB_MEMORY = "4GB"
DATASET_FILE = "dataset.json"
_UTF8_BOM = b"\xef\xbb\xbf"


def load_source(source: str | Path) -> CXData:
    """Read and validate a data source (directory, mapping file or `ADAPTER:ARGUMENT`); raises
    DataValidationError listing every problem found.

    Parameters
    ----------
    source
        A canonical directory, a mapping file (`*.yaml`) or `ADAPTER:ARGUMENT` (see `cxresearch.data.sources`).

    Returns
    -------
    CXData
        The validated data, with a fingerprint of the source's files.
    """
    from cxresearch.data import sources

    directory = Path(source)
    if not directory.is_dir():
        if sources.split_adapter(str(source)) or directory.suffix.lower() in sources.MAPPING_SUFFIXES:
            return sources.load(source)
        reason = "not a directory" if directory.exists() else "no such directory"
        raise DataValidationError([Problem("source", None, 0, [], f"{directory}: {reason}")])

    problems: list[Problem] = []
    files: list[str] = []
    dataset = _read_dataset_json(directory, files, problems)
    frames: dict[str, pd.DataFrame | None] = {}
    for table in TABLES:
        frames[table] = _read_table(directory, table, files, problems)

    transactions = _read_optional_table(directory, "transactions", files, problems)
    treatments = _read_optional_table(directory, "treatments", files, problems)

    typed, parse_problems, unparsed = parse_tables(frames)
    problems += parse_problems
    observed_until = dataset.pop("observed_until", None)
    until_label = None
    if observed_until is None:
        observed_until = _latest_date(typed)
        # Without a stated end of observation the latest date is the end, so one mistyped 2099 would silently
        # stretch every active customer's lifetime: dates after today are refused instead.
        today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
        if observed_until is not None and observed_until >= today + pd.Timedelta(days=1):
            observed_until = today
            until_label = f"today, {today.date()}; set observed_until in {DATASET_FILE} if intended"
    problems += check_tables(typed, observed_until, unparsed, until_label=until_label)
    if transactions is not None:
        transactions, tx_problems = check_transactions(transactions, typed["customers"])
        problems += tx_problems
    if treatments is not None:
        treatments, tr_problems = check_treatments(treatments, typed["customers"], observed_until)
        problems += tr_problems
    shape = dataset.pop("shape", "events")
    if shape not in SHAPES:
        problems.append(Problem(DATASET_FILE, "shape", 0, [], f"must be one of {', '.join(SHAPES)}, not {shape!r}"))
    if problems:
        raise DataValidationError(problems)

    name = dataset.pop("name", None) or directory.resolve().name
    if treatments is not None:
        notes = [str(w) for w in treatment_warnings(treatments)]
        dataset["notes"] = [*dataset.get("notes", []), *(n for n in notes if n not in dataset.get("notes", []))]
    return CXData(
        customers=typed["customers"],
        contacts=typed["contacts"],
        surveys=typed["surveys"],
        observed_until=observed_until,
        name=str(name),
        fingerprint=_fingerprint(files),
        metadata={**dataset, "source": str(directory.resolve()), "files": sorted(files), "shape": shape},
        shape=shape,
        transactions=transactions,
        treatments=treatments,
    )


@dataclass
class ParquetSource:
    """A canonical Parquet directory validated out of core: where its tables are and how many rows they hold."""

    directory: Path
    name: str
    observed_until: pd.Timestamp
    fingerprint: str
    rows: dict[str, int]
    metadata: dict

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with a view per table over its Parquet file (`_row`: 0-based row number)."""
        return parquet_views(self.directory, [t for t in (*TABLES, "treatments") if t in self.rows])


def parquet_rows(directory: str | Path) -> dict[str, int] | None:
    """Rows per table of a canonical directory whose three tables are Parquet files (from their footers), else None."""
    paths = {t: Path(directory) / f"{t}.parquet" for t in TABLES}
    if not all(p.is_file() for p in paths.values()) or any((Path(directory) / f"{t}.csv").exists() for t in TABLES):
        return None
    try:
        return {t: pq.ParquetFile(p).metadata.num_rows for t, p in paths.items()}
    except (pa.ArrowException, OSError):
        return None


def parquet_views(directory: Path, tables: Iterable[str]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view per table over `<table>.parquet` in `directory` (`_row`: row number)."""
    # A bounded buffer spilling to a temporary directory keeps the process within `DUCKDB_MEMORY` plus its result;
    # no check needs row order, and without it DuckDB streams instead of buffering.
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY, "preserve_insertion_order": False,
                                 "temp_directory": str(Path(tempfile.gettempdir()) / "cxresearch-duckdb")})
    con.execute("SET enable_progress_bar = false")
    for table in tables:
        path = str(directory.resolve() / f"{table}.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * EXCLUDE (file_row_number), file_row_number AS _row "
                    f"FROM read_parquet('{path}', file_row_number = true)")
    return con


def validate_out_of_core(source: str | Path) -> ParquetSource:
    """Validate a canonical Parquet directory with DuckDB over its files: the checks of `load_source`, the rows
    never in pandas (`validation.sql`); raises DataValidationError listing every problem, or
    `validation.sql.NeedsParsing` when a column is not stored in its logical type (check it with `load_source`).

    Parameters
    ----------
    source
        A directory with customers, contacts and surveys as Parquet files (and optional treatments, transactions,
        dataset.json; those two tables are checked in memory against the customers' ids and dates).

    Returns
    -------
    ParquetSource
        Where the validated tables are, their row counts, name, end of observation and fingerprint (the same as
        `load_source` gives).
    """
    directory = Path(source)
    rows = parquet_rows(directory)
    if rows is None:
        raise DataValidationError([Problem("source", None, 0, [], f"{directory}: not a directory of Parquet tables")])
    problems: list[Problem] = []
    files: list[str] = []
    dataset = _read_dataset_json(directory, files, problems)
    files += [str(directory / f"{t}.parquet") for t in TABLES]
    con = parquet_views(directory, TABLES)
    try:
        observed_until, until_label = dataset.pop("observed_until", None), None
        if observed_until is None:
            dates = [f"max({c}) FROM {t}" for t in TABLES for c in DATE_COLUMNS[t]]
            found = [v for (v,) in (con.execute(f"SELECT {d}").fetchone() for d in dates) if v is not None]
            observed_until = pd.Timestamp(max(found)) if found else None
            today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
            if observed_until is not None and observed_until >= today + pd.Timedelta(days=1):
                observed_until = today
                until_label = f"today, {today.date()}; set observed_until in {DATASET_FILE} if intended"
        problems += check_relations(con, observed_until, until_label)
        customers = None
        for table, check in (("transactions", check_transactions), ("treatments", check_treatments)):
            frame = _read_optional_table(directory, table, files, problems)
            if frame is not None:
                if customers is None:
                    customers = con.execute("SELECT customer_id, signup_date, end_date FROM customers").df()
                    customers["customer_id"] = customers["customer_id"].astype(TEXT_DTYPE)
                extra = (observed_until,) if table == "treatments" else ()
                problems += check(frame, customers, *extra)[1]
                rows[table] = len(frame)
    finally:
        con.close()
    shape = dataset.pop("shape", "events")
    if shape != "events":
        problems.append(Problem(DATASET_FILE, "shape", 0, [], f"out of core checks events data only, not {shape!r}"))
    if problems:
        raise DataValidationError(problems)
    name = dataset.pop("name", None) or directory.resolve().name
    metadata = {**dataset, "source": str(directory.resolve()), "files": sorted(files), "shape": shape}
    return ParquetSource(directory, str(name), observed_until, _fingerprint(files), rows, metadata)


def write_source(data: CXData, directory: str | Path) -> Path:
    """Write `data` as a canonical Parquet directory that `load_source` reads back to the same `CXData`
    (name, shape and metadata in dataset.json), e.g. to load a mapped source once per suite run.

    Parameters
    ----------
    data
        The validated data.
    directory
        Where to write (created when missing).

    Returns
    -------
    pathlib.Path
        `directory`.
    """
    directory = write_tables(data, directory)
    dataset = {
        **{k: v for k, v in data.metadata.items() if k not in ("files", "source")},
        "name": data.name,
        "observed_until": data.observed_until.isoformat(),
        "shape": data.shape,
        "mapped_from": data.metadata.get("source"),
        "source_fingerprint": data.fingerprint,
    }
    (directory / DATASET_FILE).write_text(json.dumps(dataset, indent=2, default=str))
    return directory


def write_tables(data: CXData, directory: str | Path) -> Path:
    """Write `data`'s tables (transactions and treatments too, when present) as `<table>.parquet` in
    `directory`; return it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        getattr(data, table).to_parquet(directory / f"{table}.parquet", index=False)
    for table in ("transactions", "treatments"):
        if getattr(data, table) is not None:
            getattr(data, table).to_parquet(directory / f"{table}.parquet", index=False)
    return directory


def read_parquet_table(path: str | Path) -> pd.DataFrame:
    """A Parquet table cxresearch wrote itself (already validated) as pandas, text Arrow-backed; not checked."""
    return pq.read_table(path).to_pandas(date_as_object=False, types_mapper=_text_as_arrow)


def fingerprint_files(paths: Iterable[str | Path]) -> str:
    """First 16 hex chars of the sha256 over the files' bytes, taken in order of file name."""
    return _fingerprint([str(p) for p in paths])


def _fingerprint(files: Iterable[str]) -> str:
    """First 16 hex chars of the sha256 over file contents, taken in order of file name (then path).

    Files are streamed from disk rather than kept in memory from parsing: at a million customers they are
    hundreds of MB that would otherwise sit beside the parsed tables.
    """
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: (Path(p).name, p)):
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def _read_dataset_json(directory: Path, files: list[str], problems: list[Problem]) -> dict:
    """The optional dataset.json as a dict, with `observed_until` parsed to a Timestamp when present."""
    path = directory / DATASET_FILE
    if not path.is_file():
        return {}
    try:
        raw = path.read_bytes()
    except OSError as err:
        problems.append(Problem(DATASET_FILE, None, 0, [], f"cannot be read ({_first_line(err)})"))
        return {}
    files.append(str(path))
    try:
        dataset = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        problems.append(Problem(DATASET_FILE, None, 0, [], f"not valid UTF-8 JSON ({_first_line(err)})"))
        return {}
    if not isinstance(dataset, dict):
        problems.append(Problem(DATASET_FILE, None, 0, [], "must hold a JSON object"))
        return {}
    for key in ("observed_until", "observed_from"):
        if dataset.get(key) is None:
            dataset.pop(key, None)
            continue
        # ISO 8601 only (2024-12-31, 2024-12-31T00:00:00): 31.12.2024 or 12/31/2024 could be either.
        value = parse_iso_date(dataset[key], with_time=True)
        if value is None:
            problems.append(Problem(DATASET_FILE, key, 0, [], f"not an ISO 8601 date (YYYY-MM-DD): {dataset[key]!r}"))
            dataset.pop(key)
            continue
        if key == "observed_until":
            # Timestamps in the model are tz-naive (UTC when a zone is given).
            dataset[key] = value
    currency = dataset.get("currency")
    if currency is not None and not (isinstance(currency, str) and currency.strip()):
        problems.append(Problem(DATASET_FILE, "currency", 0, [], f"must be the currency's code (e.g. USD), not {currency!r}"))
        dataset.pop("currency")
    return dataset


def _read_optional_table(
    directory: Path, table: str, files: list[str], problems: list[Problem]
) -> pd.DataFrame | None:
    """An optional table (transactions, treatments) when a file for it exists, else None."""
    if not any(_present(directory / f"{table}.{fmt}") for fmt in FORMATS):
        return None
    return _read_table(directory, table, files, problems)


def _read_table(
    directory: Path, table: str, files: list[str], problems: list[Problem]
) -> pd.DataFrame | None:
    """One table's file as a DataFrame (canonical columns as read, not yet typed), or None with a problem."""
    found = [directory / f"{table}.{fmt}" for fmt in FORMATS if _present(directory / f"{table}.{fmt}")]
    if not found:
        problems.append(
            Problem(table, None, 0, [], f"table missing: no {table}.csv or {table}.parquet in {directory}")
        )
        return None
    if len(found) > 1:
        problems.append(
            Problem(table, None, 0, [], f"both {found[0].name} and {found[1].name} found; keep one")
        )
        return None
    path = found[0]
    if not path.is_file():
        problems.append(
            Problem(table, None, 0, [], f"{path.name} is not a regular file (a directory or a broken link)")
        )
        return None
    try:
        raw = path.read_bytes()
    except OSError as err:
        problems.append(Problem(table, None, 0, [], f"{path.name} cannot be read ({_first_line(err)})"))
        return None
    files.append(str(path))
    if not raw:
        problems.append(Problem(table, None, 0, [], f"{path.name} is empty (0 bytes)"))
        return None
    if path.suffix == ".csv":
        df, message = _parse_csv(raw, table)
    else:
        df, message = _parse_parquet(raw)
    if message:
        problems.append(Problem(table, None, 0, [], f"{path.name}: {message}"))
        return None
    # Customers are the population every analysis starts from; no events is a valid (if quiet) dataset.
    if table == "customers" and len(df) == 0:
        problems.append(Problem(table, None, 0, [], f"{path.name} has no rows"))
    return df


def _parse_csv(raw: bytes, table: str) -> tuple[pd.DataFrame | None, str]:
    """A CSV file's bytes as a DataFrame with canonical columns read as text, or (None, why not)."""
    raw = raw.removeprefix(_UTF8_BOM)
    # UTF-16 text is mostly valid UTF-8 byte by byte (ASCII plus NULs), so NULs are checked explicitly.
    if b"\x00" in raw:
        return None, "not UTF-8 text (it contains NUL bytes, e.g. UTF-16); save it as UTF-8"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return (
            None,
            f"not UTF-8 text (invalid byte 0x{raw[err.start]:02x} at offset {err.start}); save it as UTF-8",
        )
    if not raw.strip():
        return None, "is empty (no header)"
    # Canonical columns are read as text and parsed by the validator, so ids keep leading zeros and bad
    # values are reported rather than guessed; only empty fields are missing values.
    optional = {"transactions": TRANSACTION_COLUMNS, "treatments": treatment_columns()}
    types = optional[table] if table in optional else column_types(table)
    canonical = {name: pa.string() for name in types}
    try:
        arrow = pacsv.read_csv(
            pa.BufferReader(raw),
            convert_options=pacsv.ConvertOptions(
                column_types=canonical, null_values=[""], strings_can_be_null=True
            ),
        )
    except (pa.ArrowException, ValueError) as err:
        return None, f"not a readable CSV file ({_csv_row(raw, str(err))}{_first_line(err)})"
    if arrow.num_columns == 1:
        header = arrow.column_names[0]
        for name, sep in (("semicolons", ";"), ("tabs", "\t"), ("pipes", "|")):
            if sep in header:
                shown = header if len(header) <= 60 else header[:57] + "..."
                return None, f"one column {shown!r}: fields separated by {name}; use commas"
    return _to_pandas(arrow)


def _parse_parquet(raw: bytes) -> tuple[pd.DataFrame | None, str]:
    """A Parquet file's bytes as a DataFrame, or (None, why not)."""
    try:
        arrow = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError, ValueError) as err:
        return None, f"not a readable Parquet file ({_first_line(err)})"
    return _to_pandas(arrow)


def _to_pandas(arrow: pa.Table) -> tuple[pd.DataFrame | None, str]:
    """An Arrow table as pandas (dates as datetime64, not date objects), or (None, why not)."""
    names = arrow.column_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        return None, f"column names appear more than once: {', '.join(duplicated)}"
    try:
        # self_destruct frees each Arrow column once converted, so the table is not held twice at peak.
        df = arrow.to_pandas(date_as_object=False, types_mapper=_text_as_arrow, self_destruct=True)
    except (pa.ArrowException, ValueError, OverflowError) as err:
        return None, f"cannot be converted ({_first_line(err)})"
    # A frame written with e.g. customer_id as its index keeps it in the pandas metadata: make it a column.
    named = [level for level in df.index.names if level is not None]
    return (df.reset_index(level=named) if named else df), ""


def _text_as_arrow(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    """Arrow text stays Arrow-backed in pandas (`TEXT_DTYPE`): no Python `str` object per value."""
    return TEXT_DTYPE if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) else None


def _csv_row(raw: bytes, error: str) -> str:
    """`row N: ` for the data row a pyarrow CSV error quotes (`Expected 4 columns, got 5: <row>`), else ''."""
    _, sep, quoted = error.partition(" columns, got ")
    _, sep2, row_text = quoted.partition(": ")
    if not (sep and sep2 and row_text.strip()):
        return ""
    wanted = row_text.splitlines()[0].encode("utf-8", "replace")
    lines = [line.rstrip(b"\r") for line in raw.split(b"\n")]
    # The header is line 0, so a line's index is its data row number; an exact match beats a prefix.
    exact = [n for n, line in enumerate(lines) if n and line == wanted]
    prefix = [n for n, line in enumerate(lines) if n and line.startswith(wanted)]
    found = exact or prefix
    return f"row {found[0]}: " if found else ""


def _present(path: Path) -> bool:
    """Whether anything (file, directory, link, even a broken one) exists at `path`."""
    return path.is_symlink() or path.exists()


def _latest_date(frames: dict[str, pd.DataFrame | None]) -> pd.Timestamp | None:
    """The latest date or timestamp in any table, or None when there is none."""
    latest = [
        df[column].max()
        for table, df in frames.items()
        if df is not None
        for column in DATE_COLUMNS[table]
        if column in df.columns and pd.api.types.is_datetime64_dtype(df[column].dtype)
    ]
    latest = [d for d in latest if not pd.isna(d)]
    return max(latest) if latest else None


def _first_line(err: Exception) -> str:
    """The first line of an exception message, shortened, for one-line problems."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."
