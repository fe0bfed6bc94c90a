"""Canonical Parquet directories too large for pandas: validated, counted and sampled with DuckDB over the files.

`validate_out_of_core` runs every check of `load.load_source` as SQL over the Parquet files
(`validation.sql`); `sample_parquet` writes a customer sample with complete histories, chosen by a hash of the
customer id, as a canonical directory small enough to load; `base_counts` counts what is cheap to count on every
customer. Only aggregates and the sample's rows leave DuckDB, which is held to `DUCKDB_MEMORY` and spills to the
temporary directory beyond.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxresearch.data.load import DATASET_FILE, fingerprint_files, read_dataset_json, read_optional_table
from cxresearch.data.schema import TABLES, TEXT_DTYPE
from cxresearch.data.validation.checks import DATE_COLUMNS, check_transactions
from cxresearch.data.validation.problems import DataValidationError, Problem
from cxresearch.data.validation.sql import check_relations
from cxresearch.data.validation.treatments import check_treatments

#: Rows (customers + contacts + surveys, read from the Parquet footers) above which `cxresearch validate` checks
#: a Parquet directory out of core: 40 M rows are ~2.5 M customers of the simulated world, ~6 GiB in pandas.
OUT_OF_CORE_ROWS = 40_000_000
#: DuckDB's buffer for out-of-core work (it spills beyond): well under the 8 GiB a 10 M-customer base may use.
DUCKDB_MEMORY = "4GB"
#: Buckets of the customer-id hash: a sample keeps the customers whose bucket is below fraction x `HASH_BUCKETS`,
#: the rule (and the SQL expression) of `features.portable.sample_source` on DuckDB, so both keep the same ones.
HASH_BUCKETS = 10_000
#: The optional tables a sample carries over for its customers, besides customers, contacts and surveys.
OPTIONAL_TABLES: tuple[str, ...] = ("transactions", "treatments")


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


def bounded_duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection held to `DUCKDB_MEMORY` that spills to a temporary directory beyond it."""
    # DuckDB's own default is 80% of the machine's memory, which two notebook kernels side by side (each also
    # holding the data in pandas) exceed; bounded, a large join spills instead of failing. Without insertion
    # order (queries that need an order say ORDER BY) DuckDB streams instead of buffering.
    return duckdb.connect(config={"memory_limit": DUCKDB_MEMORY, "preserve_insertion_order": False,
                                  "temp_directory": str(Path(tempfile.gettempdir()) / "cxresearch-duckdb")})


def parquet_views(directory: Path, tables: Iterable[str]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view per table over `<table>.parquet` in `directory` (`_row`: row number)."""
    con = bounded_duckdb()
    # here, not in bounded_duckdb: inside a notebook kernel DuckDB refuses the setting without ipywidgets
    con.execute("SET enable_progress_bar = false")
    for table in tables:
        con.execute(f"CREATE VIEW {table} AS SELECT * EXCLUDE (file_row_number), file_row_number AS _row "
                    f"FROM read_parquet({quote_path(directory / f'{table}.parquet')}, file_row_number = true)")
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
    dataset = read_dataset_json(directory, files, problems)
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
            frame = read_optional_table(directory, table, files, problems)
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
    return ParquetSource(directory, str(name), observed_until, fingerprint_files(files), rows, metadata)




def hash_bucket(column: str = "customer_id") -> str:
    """DuckDB SQL for a customer's hash bucket, 0 to `HASH_BUCKETS` - 1: what Ibis compiles `.hash() % n` and
    `abs` to on DuckDB, so `features.portable.sample_source` on DuckDB keeps the same customers."""
    return f"abs(CAST(CAST(hash({column}) AS BIT) AS BIGINT) % {HASH_BUCKETS})"


def base_counts(source: ParquetSource) -> dict[str, int]:
    """What is cheap to count on every customer out of core: customers, and those who left during observation."""
    con = source.connect()
    try:
        total, ended = con.execute("SELECT count(*), count(end_date) FROM customers").fetchone()
    finally:
        con.close()
    return {"customers_total": int(total), "ended_total": int(ended)}


def sample_parquet(source: ParquetSource, directory: str | Path, fraction: float) -> Path:
    """Write a customer sample with complete histories of a validated Parquet source as a canonical directory.

    A customer is kept when its id's hash bucket (`hash_bucket`) is below `fraction` x `HASH_BUCKETS` (the
    same customers on every rerun), with all its contacts, surveys, treatments and transactions, rows in the
    base's order. dataset.json keeps the base's (name, observed_until, ...) and adds `customer_sample` =
    {fraction, customers_total, customers_kept, ended_total, drawn, source_fingerprint}; the simulator's
    truth.json is copied with its per-customer campaign effects cut to the sampled customers. The directory appears complete or not at all.

    Parameters
    ----------
    source
        The base, validated out of core (`validate_out_of_core`).
    directory
        Where to write the sample (replaced when it exists).
    fraction
        Share of the customers to keep, in (0, 1]; rounded to whole hash buckets (0.01%).

    Returns
    -------
    pathlib.Path
        `directory`.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    buckets = max(1, round(fraction * HASH_BUCKETS))
    directory = Path(directory)
    tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")  # two runs may write the same sample
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    con = source.connect()
    try:
        con.execute(f"CREATE TEMP TABLE kept AS SELECT customer_id FROM customers WHERE {hash_bucket()} < {buckets}")
        for table in TABLES:
            _copy_kept(con, f"(SELECT * EXCLUDE (_row) FROM {table} WHERE customer_id IN (SELECT customer_id FROM kept)"
                            " ORDER BY _row)", tmp / f"{table}.parquet")
        for table in OPTIONAL_TABLES:
            for path in (source.directory / f"{table}.{fmt}" for fmt in ("parquet", "csv")):
                if path.is_file():
                    read = (f"read_parquet({quote_path(path)})" if path.suffix == ".parquet"
                            else f"read_csv({quote_path(path)}, header = true, all_varchar = true)")
                    _copy_kept(con, f"(SELECT * FROM {read} WHERE customer_id IN (SELECT customer_id FROM kept))",
                               tmp / path.name)
        kept = {i for (i,) in con.execute("SELECT customer_id FROM kept").fetchall()}
    finally:
        con.close()
    info = {"fraction": buckets / HASH_BUCKETS, **base_counts(source), "customers_kept": len(kept),
            "drawn": f"customers whose id hashes below {buckets:,} of {HASH_BUCKETS:,} buckets (DuckDB hash)",
            "source_fingerprint": source.fingerprint, "sampled_from": str(source.directory.resolve())}
    dataset = json.loads((source.directory / DATASET_FILE).read_text(encoding="utf-8-sig")) if (
        source.directory / DATASET_FILE).is_file() else {}
    dataset.update(name=source.name, observed_until=source.observed_until.isoformat(), customer_sample=info)
    (tmp / DATASET_FILE).write_text(json.dumps(dataset, indent=2, default=str), encoding="utf-8")
    if (source.directory / "truth.json").is_file():
        _sample_truth(source.directory / "truth.json", tmp / "truth.json", kept)
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    return directory


def _sample_truth(path: Path, out: Path, kept: set[str]) -> None:
    """Copy the simulator's truth.json, its campaigns' per-customer lists restricted to the `kept` customers.

    The process's truth (coefficients, baseline, reasons) holds for any sample of its customers; a campaign's
    true effect is the mean over its assigned customers, so the sample's truth is over the sampled ones.
    """
    truth = json.loads(path.read_text(encoding="utf-8"))
    for campaign in truth.get("campaigns", {}).values():
        lists = campaign.get("customers")
        if lists:
            rows = [k for k, i in enumerate(lists["customer_id"]) if i in kept]
            campaign["customers"] = {name: [values[k] for k in rows] for name, values in lists.items()}
    out.write_text(json.dumps(truth, indent=2), encoding="utf-8")


def _copy_kept(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    """Write the rows of `query` to `path`: Parquet (zstd) or, for a .csv path, CSV with a header."""
    options = "FORMAT parquet, COMPRESSION zstd" if path.suffix == ".parquet" else "FORMAT csv, HEADER true"
    con.execute(f"COPY {query} TO {quote_path(path)} ({options})")


def quote_path(path: Path) -> str:
    """`path` as a SQL string literal."""
    return "'" + str(path.resolve()).replace("'", "''") + "'"
