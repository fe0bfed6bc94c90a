"""The per-customer feature snapshot as an Ibis expression, so it runs unchanged where the events live.

`features.snapshot` runs one DuckDB SQL query on tables in memory. `snapshot_expr` builds the same query with
Ibis (https://ibis-project.org), which compiles it to the SQL of whichever backend holds the canonical tables:
DuckDB, Spark, BigQuery, Snowflake, Trino, Postgres... Date offsets are computed here in Python and sent as
literals, and every function used (filtered count/avg, `max_by` for the latest score, `least`, day
differences) has a translation on those backends. The result is one row per customer, small enough to pull
back with `snapshot_on` and feed to the models, whatever the number of events.

Needs the optional `ibis-framework` package (and the backend's own driver, e.g. `pyspark`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
from ibis.backends import BaseBackend

from cxresearch.data.load import write_source
from cxresearch.data.schema import INCONSISTENCY_REASON, SEGMENT_COLUMNS, CXData
from cxresearch.features.snapshot import snapshot_dates
from cxresearch.stats.units import DAYS_PER_MONTH

#: The canonical tables' names, as `snapshot_on` looks them up in a backend by default.
TABLES: tuple[str, ...] = ("customers", "contacts", "surveys")

_COUNTS = ("reactive_90d", "proactive_90d", "unresolved_90d", "inconsistency_90d")
_FLAGS = ("active", "churned", "event")
_EVENT_COLUMNS = {
    "contacts": ("customer_id", "timestamp", "direction", "reason", "resolved_first_contact"),
    "surveys": ("customer_id", "timestamp", "instrument", "score"),
}


def snapshot_expr(
    customers: ibis.Table,
    contacts: ibis.Table,
    surveys: ibis.Table,
    as_of: str | pd.Timestamp | None,
    observed_until: str | pd.Timestamp,
    window_months: int = 3,
    horizon_months: int = 3,
) -> ibis.Table:
    """`features.snapshot`'s query on Ibis tables of one backend: a row per customer signed up before `as_of`.

    Columns and meaning as `features.snapshot` (durations in months of 30.4375 days, counts over the
    `window_months` calendar months before `as_of`); only the canonical columns are read, and contacts
    without `reason` or `resolved_first_contact` count as unknown, as in `features.snapshot`.
    """
    as_of, window_start, horizon_end, until = snapshot_dates(as_of, observed_until, window_months, horizon_months)
    as_of_ts, start_ts, horizon_ts, until_ts = (ibis.timestamp(d.to_pydatetime()) for d in
                                                (as_of, window_start, horizon_end, until))
    as_of_day, until_day = ibis.date(as_of.date()), ibis.date(until.date())
    segments = [c for c in (*SEGMENT_COLUMNS, "monthly_margin", "acquisition_cost", "n_referrals")
                if c in customers.columns]

    optional = {"reason": dt.string, "resolved_first_contact": dt.boolean}
    contacts = contacts.mutate(**{k: ibis.null(t) for k, t in optional.items() if k not in contacts.columns})
    recent = contacts.filter((contacts["timestamp"] >= start_ts) & (contacts["timestamp"] < as_of_ts))
    direction, reason, resolved = recent["direction"], recent["reason"], recent["resolved_first_contact"]
    reactive = direction == "reactive"
    window = recent.group_by("customer_id").aggregate(
        reactive_90d=recent.count(where=reactive),
        proactive_90d=recent.count(where=direction == "proactive"),
        unresolved_90d=recent.count(where=reactive & (resolved == False)),
        inconsistency_90d=recent.count(where=reason == INCONSISTENCY_REASON),
        # through an integer: PostgreSQL casts no boolean to a float directly
        fcr_rate_90d=resolved.cast("int32").cast("float64").mean(where=reactive),
    )

    past = surveys.filter(surveys["timestamp"] < as_of_ts)
    score, instrument, when = past["score"], past["instrument"], past["timestamp"]
    # Ibis compiles `argmax` to each engine's "value at the latest timestamp": first(... ORDER BY ... DESC) on
    # DuckDB, max_by on Spark and Trino, MAX_BY on BigQuery and Snowflake. Ties pick any, as arg_max does.
    instruments = ("nps", "csat", "ces")
    scores = past.group_by("customer_id").aggregate(
        **{f"{i}_last": score.argmax(when, where=instrument == i).cast("float64") for i in instruments},
        **{f"{i}_mean": score.cast("float64").mean(where=instrument == i) for i in instruments},
        **{f"{i}_mean_90d": score.cast("float64").mean(where=(instrument == i) & (when >= start_ts))
           for i in ("csat", "ces")},
        n_survey_responses=past.count(),
    )

    c = customers.filter(customers["signup_date"] < as_of_ts)
    end = c["end_date"]
    stop_day = ibis.least(end.date().fill_null(until_day), until_day)
    base = c.select(
        "customer_id", *segments, "signup_date", "end_date",
        # DuckDB's date_diff('day', ...) counts calendar-day boundaries: a difference of dates.
        tenure_months=as_of_day.delta(c["signup_date"].date(), unit="day").cast("float64") / DAYS_PER_MONTH,
        active=end.isnull() | (end >= as_of_ts),
        churned=end.notnull() & (end >= as_of_ts) & (end < horizon_ts),
        duration_months=stop_day.delta(c["signup_date"].date(), unit="day").cast("float64") / DAYS_PER_MONTH,
        event=end.notnull() & (end <= until_ts),
    )
    joined = base.left_join(window, "customer_id").left_join(scores, "customer_id")
    return joined.select(
        "customer_id", *segments, "signup_date", "end_date",
        "tenure_months", "active", "churned", "duration_months", "event",
        *(joined[k].fill_null(0).name(k) for k in _COUNTS), "fcr_rate_90d",
        *(f"{i}_last" for i in instruments), *(f"{i}_mean" for i in instruments),
        "csat_mean_90d", "ces_mean_90d",
        joined["n_survey_responses"].fill_null(0).name("n_survey_responses"),
    )


def snapshot_on(
    con: BaseBackend,
    as_of: str | pd.Timestamp | None = None,
    *,
    observed_until: str | pd.Timestamp,
    window_months: int = 3,
    horizon_months: int = 3,
    tables: Mapping[str, ibis.Table | str] | None = None,
) -> pd.DataFrame:
    """Run the snapshot on backend `con` and return it as `features.snapshot` would: same columns and dtypes.

    `tables` maps "customers", "contacts", "surveys" to Ibis tables or to table names in `con` (default: the
    tables of those names). `observed_until` is the end of observation, which the data alone cannot tell.
    """
    customers, contacts, surveys = _tables(con, tables)
    expr = snapshot_expr(customers, contacts, surveys, as_of, observed_until, window_months, horizon_months)
    out = con.to_pandas(expr)
    for col in _COUNTS + ("n_survey_responses",):
        out[col] = out[col].astype("int64")
    for col in _FLAGS:
        out[col] = out[col].astype(bool)
    for col in ("signup_date", "end_date"):
        stamps = pd.to_datetime(out[col])
        # Engines with zoned timestamps (BigQuery) return them zoned; the canonical model is naive UTC.
        out[col] = (stamps.dt.tz_convert("UTC").dt.tz_localize(None) if stamps.dt.tz else stamps).astype(
            "datetime64[ns]")
    as_of, _, _, until = snapshot_dates(as_of, observed_until, window_months, horizon_months)
    out.attrs.update(
        as_of=as_of.isoformat(), window_months=window_months, horizon_months=horizon_months,
        observed_until=until.isoformat(), shape="events", notes=[],
    )
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def sample_source(
    con: BaseBackend,
    directory: str | Path,
    *,
    observed_until: str | pd.Timestamp,
    fraction: float,
    tables: Mapping[str, ibis.Table | str] | None = None,
    metadata: Mapping[str, object] | None = None,
) -> Path:
    """Pull a customer sample with its whole history from backend `con` into a canonical directory.

    A customer is kept when a hash of its id, modulo 10,000, is below `fraction` * 10,000: the same customers
    on every rerun on one engine, and their contacts and surveys come complete (semi-join), so every analysis
    of the suite (`cxresearch run --data directory`) sees whole histories. `dataset.json` records the sample
    as `customer_sample` = {fraction, customers_total, customers_kept}, plus `metadata` (e.g. observed_from).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    customers, contacts, surveys = _tables(con, tables)
    kept = customers.filter((customers["customer_id"].hash() % 10_000).abs() < round(fraction * 10_000))
    frames = {name: con.to_pandas(t.semi_join(kept, "customer_id")) for name, t in
              (("contacts", contacts), ("surveys", surveys))}
    sample = con.to_pandas(kept)
    total = int(con.to_pandas(customers.count()))
    info = {"fraction": fraction, "customers_total": total, "customers_kept": len(sample)}
    data = CXData(sample, frames["contacts"], frames["surveys"], observed_until=pd.Timestamp(observed_until),
                  name=Path(directory).name, metadata={**(metadata or {}), "customer_sample": info})
    return write_source(data, directory)


def memtables(data: CXData) -> dict[str, ibis.Table]:
    """`data`'s tables, with the columns the snapshot reads, as Ibis in-memory tables any backend can query.

    A backend uploads them (through Arrow) each time it runs a query on them: for tests and small data; large
    tables belong in the backend itself (`snapshot_on` by table name).
    """
    if data.shape == "flat":
        raise ValueError("flat data is one row per customer already: use features.snapshot, not a query")
    frames = {
        "customers": data.customers,
        "contacts": data.contacts[[c for c in _EVENT_COLUMNS["contacts"] if c in data.contacts]],
        "surveys": data.surveys[[c for c in _EVENT_COLUMNS["surveys"] if c in data.surveys]],
    }
    return {name: ibis.memtable(to_microseconds(frame)) for name, frame in frames.items()}


def to_microseconds(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with timestamps floored to whole microseconds, the finest most engines (Spark, BigQuery) store.

    Flooring keeps every comparison with a whole-microsecond date (as_of, window start) as it was.
    """
    stamps = frame.select_dtypes("datetime64[ns]").columns
    return frame.assign(**{c: frame[c].dt.floor("us").astype("datetime64[us]") for c in stamps})


def _tables(con: BaseBackend, tables: Mapping[str, ibis.Table | str] | None) -> list[ibis.Table]:
    """The Ibis tables given, else `con`'s tables by those or canonical names."""
    given = dict(tables or {})
    return [con.table(t) if isinstance(t := given.get(name, name), str) else t for name in TABLES]
