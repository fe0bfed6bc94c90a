"""Per-customer feature snapshot at an `as_of` date, computed with DuckDB SQL from the canonical tables.

Only events strictly before `as_of` feed the features; the churn label looks at the prediction window
[`as_of`, `as_of` + `horizon_months`). Lifetime columns (`duration_months`, `event`) use the whole observation
period, for survival analysis.

Flat data (`CXData.shape == "flat"`) is one snapshot already: `snapshot` returns it with only the columns the
data supports (see `flat_snapshot`), and says what they mean in `attrs`.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxresearch.data.out_of_core import ParquetSource, parquet_views
from cxresearch.data.schema import (
    FLAT_COLUMNS,
    INCONSISTENCY_REASON,
    SCORE_RANGES,
    SEGMENT_COLUMNS,
    TEXT_DTYPE,
    CXData,
)
from cxresearch.features.cache import SharedTables
from cxresearch.stats.units import DAYS_PER_MONTH


def default_as_of(data: CXData, horizon_months: int = 3) -> pd.Timestamp:
    """The latest date whose prediction window of `horizon_months` is fully observed.

    Parameters
    ----------
    data
        The validated data.
    horizon_months
        Length of the prediction window in calendar months.

    Returns
    -------
    pandas.Timestamp
        `observed_until` minus `horizon_months`, at midnight.
    """
    return (data.observed_until - pd.DateOffset(months=horizon_months)).normalize()


def snapshot_dates(
    as_of: str | pd.Timestamp | None,
    observed_until: str | pd.Timestamp,
    window_months: int = 3,
    horizon_months: int = 3,
) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """(as_of, window start, horizon end, end of observation) of a snapshot; as_of defaults to the latest date
    with a fully observed prediction window, and one whose window is not fully observed is refused.

    Parameters
    ----------
    as_of
        The snapshot date; None or "" for the latest date with a fully observed prediction window.
    observed_until
        End of observation.
    window_months, horizon_months
        Calendar months of features before `as_of` and of prediction window after it.

    Returns
    -------
    tuple of pandas.Timestamp
        (as_of, window start, horizon end, end of observation); ValueError when the window ends after observation.
    """
    until = pd.Timestamp(observed_until)
    latest = (until - pd.DateOffset(months=horizon_months)).normalize()
    as_of = latest if as_of in (None, "") else pd.Timestamp(as_of)
    if as_of > until:
        raise ValueError(f"as_of {as_of.date()} is after the end of observation {until.date()}")
    horizon_end = as_of + pd.DateOffset(months=horizon_months)
    if horizon_end > until:
        raise ValueError(
            f"the {horizon_months}-month prediction window after as_of {as_of.date()} ends "
            f"{horizon_end.date()}, after the end of observation {until.date()}; "
            f"choose an as_of on or before {latest.date()}"
        )
    return as_of, as_of - pd.DateOffset(months=window_months), horizon_end, until


def snapshot(
    data: CXData,
    as_of: str | pd.Timestamp | None = None,
    window_months: int = 3,
    horizon_months: int = 3,
    cache: SharedTables | None = None,
) -> pd.DataFrame:
    """One row per customer signed up before `as_of`: segments, tenure, lifetime, churn label, CX features.

    Counts (`*_90d`) cover the `window_months` calendar months before `as_of` (3 months by default, hence
    the name). Survey columns are NaN for customers who never answered that instrument before `as_of`.
    On flat data the result is `flat_snapshot(data, as_of)`: other columns, described in `attrs`.

    Parameters
    ----------
    data
        The validated data.
    as_of
        The snapshot date; None or "" for the latest date whose prediction window is fully observed.
    window_months
        Calendar months of events before `as_of` that the counts and recent means cover.
    horizon_months
        Calendar months after `as_of` in which a customer who leaves counts as churned.
    cache
        A suite run's shared tables: a snapshot of the same data (same fingerprint) and arguments built before
        is read from there, and one built now is stored there. None builds it every time.

    Returns
    -------
    pandas.DataFrame
        One row per customer, sorted by customer_id; `attrs` holds as_of, window_months, horizon_months,
        observed_until, shape and notes. Durations in months of 30.4375 days.
    """
    if data.shape == "flat":
        return flat_snapshot(data, as_of)
    as_of, _, horizon_end, _ = snapshot_dates(as_of, data.observed_until, window_months, horizon_months)
    name = f"snapshot-{as_of:%Y%m%d}-w{window_months}-h{horizon_months}.parquet"
    if cache is not None and not cache.serves(data):
        cache = None  # other data (e.g. a sample of the shared data) must not get its features
    cached = cache.frame(name) if cache is not None else None
    if cached is not None:
        return cached
    out = _events_snapshot(data, as_of, window_months, horizon_months, horizon_end)
    if cache is not None:
        cache.store(name, out)
    return out


def _events_snapshot(
    data: CXData, as_of: pd.Timestamp, window_months: int, horizon_months: int, horizon_end: pd.Timestamp
) -> pd.DataFrame:
    """The snapshot of event data, computed with DuckDB (see `snapshot`)."""
    window_start = as_of - pd.DateOffset(months=window_months)
    customers = data.customers
    segments = [c for c in (*SEGMENT_COLUMNS, "monthly_margin", "acquisition_cost", "n_referrals") if c in customers]
    contacts = _with_optional(data.contacts, {"reason": None, "resolved_first_contact": None})

    con = duckdb.connect()
    try:
        con.register("customers", customers[["customer_id", "signup_date", "end_date", *segments]])
        con.register("contacts", contacts[["customer_id", "timestamp", "direction", "reason", "resolved_first_contact"]])
        con.register("surveys", data.surveys[["customer_id", "timestamp", "instrument", "score"]])
        out = _query(con, segments, as_of, window_start, horizon_end, data.observed_until).df()
    finally:
        con.close()
    return _typed(out, segments, as_of, window_months, horizon_months, data.observed_until)


def snapshot_parquet(
    source: ParquetSource, as_of: str | pd.Timestamp | None = None, window_months: int = 3, horizon_months: int = 3
) -> pd.DataFrame:
    """`snapshot` of a Parquet source validated out of core (`data.out_of_core.validate_out_of_core`): the same query
    with DuckDB over the files, so only the per-customer result comes into memory (text Arrow-backed).

    Parameters
    ----------
    source
        The validated Parquet directory.
    as_of, window_months, horizon_months
        As in `snapshot`.

    Returns
    -------
    pandas.DataFrame
        `snapshot`'s columns, dtypes, order and attrs.
    """
    as_of, window_start, horizon_end, _ = snapshot_dates(as_of, source.observed_until, window_months, horizon_months)
    con = parquet_views(source.directory, ("customers", "contacts", "surveys"))
    try:
        found = {t: {name for (name,) in con.execute(f"SELECT column_name FROM (DESCRIBE {t})").fetchall()}
                 for t in ("customers", "contacts")}
        segments = [c for c in (*SEGMENT_COLUMNS, "monthly_margin", "acquisition_cost", "n_referrals")
                    if c in found["customers"]]
        optional = {"reason": "VARCHAR", "resolved_first_contact": "BOOLEAN"}
        missing = "".join(f", NULL::{t} AS {c}" for c, t in optional.items() if c not in found["contacts"])
        if missing:
            con.execute("ALTER VIEW contacts RENAME TO contacts_file")
            con.execute(f"CREATE VIEW contacts AS SELECT *{missing} FROM contacts_file")
        arrow = _query(con, segments, as_of, window_start, horizon_end, source.observed_until).to_arrow_table()
    finally:
        con.close()
    # Sorted in Arrow once DuckDB's buffers are freed (an ORDER BY would need the whole result inside DuckDB's
    # buffer), then converted a column at a time: a pandas sort would copy every column once more.
    arrow = arrow.take(pc.sort_indices(arrow, sort_keys=[("customer_id", "ascending")]))
    out = arrow.to_pandas(types_mapper=_arrow_text, split_blocks=True, self_destruct=True)
    del arrow
    for col in ("signup_date", "end_date"):
        out[col] = out[col].astype("datetime64[ns]")
    return _typed(out, segments, as_of, window_months, horizon_months, source.observed_until)


def _arrow_text(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    """Arrow text stays Arrow-backed in pandas (`TEXT_DTYPE`)."""
    return TEXT_DTYPE if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) else None


def _query(con: duckdb.DuckDBPyConnection, segments: list[str], as_of: pd.Timestamp, window_start: pd.Timestamp,
           horizon_end: pd.Timestamp, observed_until: pd.Timestamp) -> duckdb.DuckDBPyRelation:
    """The snapshot query on `con`'s customers, contacts and surveys, as a relation (nothing fetched yet)."""
    params = {
        "as_of": as_of.to_pydatetime(),
        "window_start": window_start.to_pydatetime(),
        "horizon_end": horizon_end.to_pydatetime(),
        "observed_until": observed_until.to_pydatetime(),
        "dpm": DAYS_PER_MONTH,
        "inconsistency": INCONSISTENCY_REASON,
    }
    seg_sql = "".join(f", c.{_quote(s)}" for s in segments)
    return con.sql(_SNAPSHOT_SQL.format(segments=seg_sql), params=params)


def _typed(out: pd.DataFrame, segments: list[str], as_of: pd.Timestamp, window_months: int, horizon_months: int,
           observed_until: pd.Timestamp) -> pd.DataFrame:
    """The query's result with `snapshot`'s dtypes and attrs, sorted by customer_id."""
    for col in ("customer_id", *segments):
        if out[col].dtype == object:
            out[col] = out[col].astype(TEXT_DTYPE)
    for col in ("reactive_90d", "proactive_90d", "unresolved_90d", "inconsistency_90d"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("active", "churned", "event"):
        out[col] = out[col].astype(bool)
    out.attrs.update(
        as_of=as_of.isoformat(), window_months=window_months, horizon_months=horizon_months,
        observed_until=observed_until.isoformat(), shape="events", notes=[],
    )
    if out["customer_id"].is_monotonic_increasing:
        return out.reset_index(drop=True)
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def flat_snapshot(data: CXData, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """The snapshot of flat data: one row per customer, with only the columns the data supports.

    Always: customer_id, segments and margin columns present, signup_date, end_date, `tenure_months` (= the
    data's tenure: at `as_of`, or at churn for churners), `active` (True: everyone was a customer when the
    churn period began), `churned` (the data's churn flag), `duration_months`, `event`. When mapped:
    `nps_last`, `csat_last`, `ces_last` (the one known score, timing unknown), `n_survey_responses`, and
    the contact counts under their own names (`reactive_contacts`, `proactive_contacts`,
    `unresolved_contacts`, `fcr_rate`): they cover `attrs["contacts_period"]`, not a 90-day window.
    `attrs`: as_of, horizon_months (the churn flag's period in months, or None when undocumented),
    window_months (None), contacts_period, shape ("flat") and notes (plain-words caveats for reports).

    Parameters
    ----------
    data
        Validated flat data (one row per customer).
    as_of
        Ignored but for a note when it differs from the one date flat data describes.

    Returns
    -------
    pandas.DataFrame
        One row per customer, sorted by customer_id, durations in months of 30.4375 days; `attrs` as above.
    """
    notes = [
        ("Flat data: features and the churn flag were recorded together, so they describe who left rather "
         "than predict who will; scores may have been given after the decision to leave.")
    ]
    if as_of not in (None, "") and pd.Timestamp(as_of) != data.observed_until:
        notes.append(
            f"as_of {pd.Timestamp(as_of).date()} was requested, but flat data describes one date only "
            f"({data.observed_until.date()}); that date is used."
        )
    lt = lifetimes(data)
    customers = data.customers.set_index("customer_id")
    out = lt.drop(columns=["entry_months"]).assign(
        tenure_months=lt["duration_months"], active=True, churned=lt["event"].astype(bool)
    )
    scores = [i for i in SCORE_RANGES if f"{i}_score" in customers and customers[f"{i}_score"].notna().any()]
    for instrument in scores:
        out[f"{instrument}_last"] = out["customer_id"].map(customers[f"{instrument}_score"]).astype("float64")
    if scores:
        out["n_survey_responses"] = out[[f"{i}_last" for i in scores]].notna().sum(axis=1).astype("int64")
    counts = [c for c in FLAT_COLUMNS if c.endswith("_contacts") and c in customers and customers[c].notna().any()]
    for column in counts:
        values = out["customer_id"].map(customers[column])
        out[column] = values.astype("int64" if values.notna().all() else "float64")
    if {"reactive_contacts", "unresolved_contacts"} <= set(counts):
        reactive = out["reactive_contacts"].where(out["reactive_contacts"] > 0)
        out["fcr_rate"] = 1 - out["unresolved_contacts"] / reactive
    if counts:
        period = data.metadata.get("contacts_period") or "an undocumented period"
        notes.append(f"Contact counts cover {period}, not the 90 days before a snapshot date.")
    period = data.metadata.get("churn_period_months")
    out.attrs.update(
        as_of=data.observed_until.isoformat(), window_months=None,
        horizon_months=float(period) if period else None, observed_until=data.observed_until.isoformat(),
        shape="flat", contacts_period=data.metadata.get("contacts_period"), notes=notes,
    )
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def _with_optional(df: pd.DataFrame, defaults: dict[str, object]) -> pd.DataFrame:
    """`df` with any missing optional column added, filled with its default."""
    missing = {k: v for k, v in defaults.items() if k not in df}
    return df.assign(**missing) if missing else df


def _quote(name: str) -> str:
    """A DuckDB-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


_SNAPSHOT_SQL = """
WITH window_contacts AS (
    SELECT customer_id,
           count(*) FILTER (WHERE direction = 'reactive') AS reactive_90d,
           count(*) FILTER (WHERE direction = 'proactive') AS proactive_90d,
           count(*) FILTER (WHERE direction = 'reactive' AND resolved_first_contact = false) AS unresolved_90d,
           count(*) FILTER (WHERE reason = $inconsistency) AS inconsistency_90d,
           avg(CAST(resolved_first_contact AS DOUBLE)) FILTER (WHERE direction = 'reactive') AS fcr_rate_90d
    FROM contacts
    WHERE timestamp >= $window_start AND timestamp < $as_of
    GROUP BY customer_id
),
past_surveys AS (
    SELECT customer_id,
           arg_max(score, timestamp) FILTER (WHERE instrument = 'nps') AS nps_last,
           arg_max(score, timestamp) FILTER (WHERE instrument = 'csat') AS csat_last,
           arg_max(score, timestamp) FILTER (WHERE instrument = 'ces') AS ces_last,
           avg(score) FILTER (WHERE instrument = 'nps') AS nps_mean,
           avg(score) FILTER (WHERE instrument = 'csat') AS csat_mean,
           avg(score) FILTER (WHERE instrument = 'ces') AS ces_mean,
           avg(score) FILTER (WHERE instrument = 'csat' AND timestamp >= $window_start) AS csat_mean_90d,
           avg(score) FILTER (WHERE instrument = 'ces' AND timestamp >= $window_start) AS ces_mean_90d,
           count(*) AS n_survey_responses
    FROM surveys
    WHERE timestamp < $as_of
    GROUP BY customer_id
)
SELECT c.customer_id{segments},
       c.signup_date,
       c.end_date,
       date_diff('day', c.signup_date, $as_of) / $dpm AS tenure_months,
       (c.end_date IS NULL OR c.end_date >= $as_of) AS active,
       (c.end_date IS NOT NULL AND c.end_date >= $as_of AND c.end_date < $horizon_end) AS churned,
       date_diff('day', c.signup_date, least(coalesce(c.end_date, $observed_until), $observed_until)) / $dpm
           AS duration_months,
       (c.end_date IS NOT NULL AND c.end_date <= $observed_until) AS event,
       w.reactive_90d, w.proactive_90d, w.unresolved_90d, w.inconsistency_90d, w.fcr_rate_90d,
       CAST(s.nps_last AS DOUBLE) AS nps_last, CAST(s.csat_last AS DOUBLE) AS csat_last,
       CAST(s.ces_last AS DOUBLE) AS ces_last,
       s.nps_mean, s.csat_mean, s.ces_mean, s.csat_mean_90d, s.ces_mean_90d,
       coalesce(s.n_survey_responses, 0) AS n_survey_responses
FROM customers c
LEFT JOIN window_contacts w USING (customer_id)
LEFT JOIN past_surveys s USING (customer_id)
WHERE c.signup_date < $as_of
"""


def lifetimes(data: CXData) -> pd.DataFrame:
    """One row per customer: segments, lifetime in months from signup, churn flag, and left-truncation entry.

    `duration_months` runs from signup to the end date, or to the end of observation (right-censored).
    When the data says when observation began (`metadata["observed_from"]`), customers who signed up earlier
    are only in the data because they were still active then: `entry_months` is their tenure at that date
    (left truncation), so survival estimates do not overstate early retention.

    Parameters
    ----------
    data
        Validated data of either shape; `metadata["observed_from"]` sets the left truncation.

    Returns
    -------
    pandas.DataFrame
        customer_id, segments, signup_date, end_date, duration_months and entry_months (months of 30.4375 days),
        event (bool).
    """
    customers = data.customers
    segments = [c for c in (*SEGMENT_COLUMNS, "monthly_margin", "acquisition_cost", "n_referrals") if c in customers]
    end = customers["end_date"].where(customers["end_date"] <= data.observed_until, data.observed_until)
    end = end.fillna(data.observed_until)
    out = customers[["customer_id", *segments, "signup_date", "end_date"]].copy()
    out["duration_months"] = (end - customers["signup_date"]) / pd.Timedelta(days=1) / DAYS_PER_MONTH
    out["event"] = customers["end_date"].notna() & (customers["end_date"] <= data.observed_until)
    observed_from = data.metadata.get("observed_from")
    if observed_from:
        start = pd.Timestamp(observed_from)
        out["entry_months"] = ((start - customers["signup_date"]) / pd.Timedelta(days=1) / DAYS_PER_MONTH).clip(lower=0)
    else:
        out["entry_months"] = 0.0
    return out.reset_index(drop=True)
