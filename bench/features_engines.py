"""The feature snapshot on three engines: DuckDB SQL (`features.snapshot`), Ibis on DuckDB, Ibis on Spark.

DuckDB rows: the same validated world (a pickled `CXData`, or `load_source(--data)`), at the default as_of:
`features.snapshot` from pandas; `features.portable.snapshot_on` with the tables as Ibis memtables (uploaded
to DuckDB through Arrow on every call); and `snapshot_on` with DuckDB reading the canonical Parquet files in
place (`--data`). Spark row (`--spark-customers`, 0 to skip): a simulated world of that size, written once as
Spark tables (Parquet in a temporary warehouse), then `snapshot_on` by table name on `local[2]`; the first
query (JVM warm-up) and the fastest later one are reported. Every result is asserted equal to
`features.snapshot` on the same data before it is timed.

Without --pickle or --data a 300,000-customer world is simulated first (--customers).

Usage: python bench/features_engines.py [--customers 300000] [--pickle P] [--data DIR]
                                        [--spark-customers 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd

from cxresearch.data.load import load_source
from cxresearch.data.schema import CXData
from cxresearch.data.simulate import simulate, write_world
from cxresearch.features.portable import TABLES, memtables, snapshot_on, to_microseconds
from cxresearch.features.snapshot import snapshot


def _fastest(fn: Callable[[], pd.DataFrame], repeats: int) -> tuple[float, float, pd.DataFrame]:
    """Seconds of the first call, fewest seconds over `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times[0], min(times), result


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Assert equal columns, string dtypes aside (Arrow-backed vs object)."""
    strings = {c: t for c, t in expected.dtypes.items() if got[c].dtype == object and t != object}
    pd.testing.assert_frame_equal(got.astype(strings), expected, check_exact=False, rtol=1e-12)


def _spark(n: int, repeats: int) -> tuple[str, int, float, float]:
    """Snapshot of an `n`-customer world on Spark local[2]: label, rows, first and fastest seconds."""
    from pyspark.sql import SparkSession

    data = simulate(n_customers=n, months=36, seed=0).to_cxdata()
    expected = snapshot(data)
    warehouse = tempfile.mkdtemp(prefix="cxspark-")
    session = (
        SparkSession.builder.master("local[2]").appName("cxresearch-bench")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g").config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC").config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        con = ibis.pyspark.connect(session)
        for name in TABLES:
            con.create_table(name, to_microseconds(getattr(data, name)), overwrite=True)
        first, best, got = _fastest(lambda: snapshot_on(con, observed_until=data.observed_until), repeats + 1)
    finally:
        session.stop()
    _same(got, expected)
    return f"Ibis on Spark local[2], {n:,} customers, Spark tables", len(got), first, best


def main() -> None:
    """Check every engine against `features.snapshot`, time them and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pickle", help="a pickled validated CXData (fast to load)")
    parser.add_argument("--data", help="a canonical Parquet directory (load_source'd if no --pickle)")
    parser.add_argument("--spark-customers", type=int, default=100_000, help="Spark world size (0: skip)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--customers", type=int, default=300_000, help="world size when neither is given")
    args = parser.parse_args()
    if not (args.pickle or args.data):
        args.data = str(Path(tempfile.mkdtemp(prefix="cxbench-engines-")) / "world")
        write_world(simulate(n_customers=args.customers, months=36, seed=0), args.data)

    if args.pickle:
        with open(args.pickle, "rb") as f:
            data: CXData = pickle.load(f)
    else:
        data = load_source(args.data)

    rows: list[tuple[str, int, float, float]] = []
    first, best, expected = _fastest(lambda: snapshot(data), args.repeats)
    rows.append(("features.snapshot (DuckDB SQL on pandas)", len(expected), first, best))
    first, best, got = _fastest(
        lambda: snapshot_on(ibis.duckdb.connect(), tables=memtables(data),
                            observed_until=data.observed_until),
        args.repeats)
    _same(got, expected)
    rows.append(("Ibis on DuckDB, pandas tables as memtables", len(got), first, best))
    if args.data:
        def in_place() -> pd.DataFrame:
            con = ibis.duckdb.connect()
            for name in TABLES:
                con.read_parquet(Path(args.data) / f"{name}.parquet", table_name=name)
            return snapshot_on(con, observed_until=data.observed_until)

        first, best, got = _fastest(in_place, args.repeats)
        _same(got, expected)
        rows.append(("Ibis on DuckDB, Parquet files in place", len(got), first, best))
    if args.spark_customers:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            print("Spark row skipped: pyspark is not installed (pip install -e '.[spark]', and Java 17)")
        else:
            rows.append(_spark(args.spark_customers, args.repeats))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.0f} GiB RAM, "
          f"Python {platform.python_version()}, ibis {ibis.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{len(data.customers):,} customers, {len(data.contacts):,} contacts, {len(data.surveys):,} survey "
          f"responses; snapshot at {expected.attrs['as_of'][:10]}; every result equal to features.snapshot")
    print(f"{'what':<60}{'rows':>10}{'first s':>10}{'best s':>10}")
    for label, n, first, best in rows:
        print(f"{label:<60}{n:>10,}{first:>10.2f}{best:>10.2f}")


if __name__ == "__main__":
    main()
