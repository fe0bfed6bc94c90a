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
from collections.abc import Iterable
from pathlib import Path

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
from cxresearch.data.validation.treatments import check_treatments, treatment_warnings

FORMATS: tuple[str, ...] = ("csv", "parquet")
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
    dataset = read_dataset_json(directory, files, problems)
    frames: dict[str, pd.DataFrame | None] = {}
    for table in TABLES:
        frames[table] = _read_table(directory, table, files, problems)

    transactions = read_optional_table(directory, "transactions", files, problems)
    treatments = read_optional_table(directory, "treatments", files, problems)

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


def read_dataset_json(directory: Path, files: list[str], problems: list[Problem]) -> dict:
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


def read_optional_table(
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
