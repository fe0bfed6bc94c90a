"""Plausibility warnings of a Parquet base too large for memory: `data.plausibility`'s checks as DuckDB SQL.

Each check measures here, over the files, what `check_plausibility` measures in pandas (counts, shares, the
earliest and latest dates, the first example ids in table order) and words its warning through the same public
function of `data.plausibility`, so both paths give the same warnings. One exception in how, not what: the rank
correlation of margins with months observed reads those two columns for every customer (16 bytes a customer)
and computes it as the in-memory check does. Flat data never comes here (out of core checks events data).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxresearch.data import plausibility as p
from cxresearch.data.out_of_core import ParquetSource, quote_path
from cxresearch.data.schema import SCORE_RANGES, SEGMENT_COLUMNS
from cxresearch.stats.units import DAYS_PER_MONTH


def check_plausibility_out_of_core(source: ParquetSource) -> list[p.PlausibilityWarning]:
    """Everything legal but implausible in a Parquet base validated out of core: `check_plausibility`'s warnings.

    Parameters
    ----------
    source
        The base, validated with `data.out_of_core.validate_out_of_core`.

    Returns
    -------
    list[PlausibilityWarning]
        The warnings `check_plausibility(load_source(directory))` gives, in its order.
    """
    con = source.connect()
    try:
        events = _event_queries(source)
        columns = set(con.execute("SELECT * FROM customers LIMIT 0").df().columns)
        n = _scalar(con, "SELECT count(*) FROM customers")
        if not n:
            return []
        return [
            *_margins_not_positive(con, n),
            *_margins_look_like_totals(con, n, source.observed_until),
            *_churn_share(con, n, source),
            *_early_signups(con, events),
            *_quiet_end(con, events, source.observed_until),
            *_constant_scores(con),
            *_free_acquisition(con, columns),
            *_segments_of_one(con, columns),
        ]
    finally:
        con.close()


def _margins_not_positive(con: duckdb.DuckDBPyConnection, n: int) -> list[p.PlausibilityWarning]:
    """Most monthly margins zero or negative."""
    bad = _scalar(con, "SELECT count(*) FROM customers WHERE monthly_margin <= 0")
    return p.margins_not_positive(bad, n, _examples(con, "customers", "monthly_margin <= 0"))


def _margins_look_like_totals(
    con: duckdb.DuckDBPyConnection, n: int, observed_until: pd.Timestamp
) -> list[p.PlausibilityWarning]:
    """Monthly margins that rise with time observed as totals to date do."""
    until = _timestamp(observed_until)
    frame = con.execute(
        "SELECT monthly_margin, floor(epoch(coalesce(end_date, " + until + ") - signup_date) / 86400) / "
        f"{DAYS_PER_MONTH} AS months FROM customers ORDER BY _row").df()
    if n < p.MIN_TOTALS_CUSTOMERS or frame["monthly_margin"].nunique() < 2 or frame["months"].nunique() < 2:
        return []
    return p.margins_look_like_totals(p.rank_correlation(frame["monthly_margin"], frame["months"]), n)


def _churn_share(con: duckdb.DuckDBPyConnection, n: int, source: ParquetSource) -> list[p.PlausibilityWarning]:
    """Churn above `CHURN_HIGH` or below `CHURN_LOW` of customers (not for purchase data)."""
    if source.rows.get("transactions"):
        return []
    left = _scalar(con, "SELECT count(end_date) FROM customers")
    return p.churn_share(left, n, _examples(con, "customers", "end_date IS NOT NULL"))


def _early_signups(con: duckdb.DuckDBPyConnection, events: list[str]) -> list[p.PlausibilityWarning]:
    """Sign-ups on or before 1970-01-01, or more than `SIGNUP_GAP_YEARS` before the first recorded event."""
    first = _extreme(con, "min", events)
    limit = p.signup_limit(first)
    early = f"signup_date <= {_timestamp(p.EPOCH)}" + (f" OR signup_date < {_timestamp(limit)}" if limit else "")
    n_early, earliest = con.execute(f"SELECT count(*), min(signup_date) FROM customers WHERE {early}").fetchone()
    if not n_early:
        return []
    return p.early_signups(int(n_early), _examples(con, "customers", early), pd.Timestamp(earliest), first)


def _quiet_end(
    con: duckdb.DuckDBPyConnection, events: list[str], observed_until: pd.Timestamp
) -> list[p.PlausibilityWarning]:
    """Nothing recorded in the last `QUIET_DAYS` of observation."""
    dates = con.execute("SELECT max(signup_date), max(end_date) FROM customers").fetchone()
    found = [pd.Timestamp(d) for d in (*dates, _extreme(con, "max", events)) if d is not None]
    return p.quiet_end(max(found), observed_until)


def _constant_scores(con: duckdb.DuckDBPyConnection) -> list[p.PlausibilityWarning]:
    """A survey instrument whose every score is the same."""
    warnings = []
    for instrument in SCORE_RANGES:
        mine = f"instrument = '{instrument}'"
        n, low, high = con.execute(f"SELECT count(*), min(score), max(score) FROM surveys WHERE {mine}").fetchone()
        if n >= p.MIN_CONSTANT_ROWS and low == high:
            warnings += p.constant_score(instrument, low, int(n), _examples(con, "surveys", mine))
    return warnings


def _free_acquisition(con: duckdb.DuckDBPyConnection, columns: set[str]) -> list[p.PlausibilityWarning]:
    """Acquisition cost zero for most customers who have one."""
    if "acquisition_cost" not in columns:
        return []
    zero, known = con.execute("SELECT count(*) FILTER (acquisition_cost = 0), count(acquisition_cost) "
                              "FROM customers").fetchone()
    return p.free_acquisition(int(zero), int(known), _examples(con, "customers", "acquisition_cost = 0"))


def _segments_of_one(con: duckdb.DuckDBPyConnection, columns: set[str]) -> list[p.PlausibilityWarning]:
    """Segment values (plan, contract, ...) held by a single customer."""
    warnings = []
    for column in (c for c in SEGMENT_COLUMNS if c in columns):
        counts = con.execute(
            f'SELECT "{column}" AS value, count(*) AS n, min(_row) AS first FROM customers '
            f'WHERE "{column}" IS NOT NULL GROUP BY ALL ORDER BY n DESC, first').df()
        single = counts.loc[counts["n"] == 1, "value"]
        warnings += p.segments_of_one(column, len(single), len(counts), list(single[: p.N_EXAMPLES]))
    return warnings


def _event_queries(source: ParquetSource) -> list[str]:
    """FROM clauses of the event tables with timestamps: contacts, surveys and, when present, transactions."""
    tables = ["contacts", "surveys"]
    for fmt, read in (("parquet", "read_parquet({})"), ("csv", "read_csv({}, header = true)")):
        path = source.directory / f"transactions.{fmt}"
        if path.is_file():
            tables.append(f"(SELECT TRY_CAST(timestamp AS TIMESTAMP) AS timestamp FROM {read.format(quote_path(path))})")
            break
    return tables


def _extreme(con: duckdb.DuckDBPyConnection, how: str, tables: list[str]) -> pd.Timestamp | None:
    """The earliest (`how` = "min") or latest ("max") timestamp of the event tables, or None when there is none."""
    found = [v for (v,) in (con.execute(f"SELECT {how}(timestamp) FROM {t}").fetchone() for t in tables)
             if v is not None]
    return pd.Timestamp(min(found) if how == "min" else max(found)) if found else None


def _examples(con: duckdb.DuckDBPyConnection, table: str, where: str) -> list[str]:
    """The first distinct customer ids, in table order, of the rows of `table` where `where` holds."""
    rows = con.execute(f"SELECT customer_id FROM {table} WHERE {where} ORDER BY _row LIMIT {p.EXAMPLE_ROWS}")
    return p.example_ids([i for (i,) in rows.fetchall()])


def _scalar(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """The one integer `query` returns."""
    return int(con.execute(query).fetchone()[0])


def _timestamp(value: pd.Timestamp) -> str:
    """`value` as a DuckDB timestamp literal."""
    return f"TIMESTAMP '{pd.Timestamp(value).isoformat(sep=' ')}'"
