"""Per-customer feature snapshot at an `as_of` date, computed with DuckDB SQL from the canonical tables.

Only events strictly before `as_of` feed the features; the churn label looks at the prediction window
[`as_of`, `as_of` + `horizon_months`). Lifetime columns (`duration_months`, `event`) use the whole observation
period, for survival analysis.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxresearch.schema import INCONSISTENCY_REASON, SEGMENT_COLUMNS, CXData

#: Average days per month, used to express durations in months.
DAYS_PER_MONTH = 30.4375


def default_as_of(data: CXData, horizon_months: int = 3) -> pd.Timestamp:
    """The latest date whose prediction window of `horizon_months` is fully observed."""
    return (data.observed_until - pd.DateOffset(months=horizon_months)).normalize()


def snapshot(
    data: CXData,
    as_of: str | pd.Timestamp | None = None,
    window_months: int = 3,
    horizon_months: int = 3,
) -> pd.DataFrame:
    """One row per customer signed up before `as_of`: segments, tenure, lifetime, churn label, CX features.

    Counts (`*_90d`) cover the `window_months` calendar months before `as_of` (3 months by default, hence
    the name). Survey columns are NaN for customers who never answered that instrument before `as_of`.
    """
    as_of = default_as_of(data, horizon_months) if as_of in (None, "") else pd.Timestamp(as_of)
    if as_of > data.observed_until:
        raise ValueError(f"as_of {as_of.date()} is after the end of observation {data.observed_until.date()}")
    horizon_end = as_of + pd.DateOffset(months=horizon_months)
    if horizon_end > data.observed_until:
        raise ValueError(
            f"the {horizon_months}-month prediction window after as_of {as_of.date()} ends "
            f"{horizon_end.date()}, after the end of observation {data.observed_until.date()}; "
            f"choose an as_of on or before {default_as_of(data, horizon_months).date()}"
        )
    window_start = as_of - pd.DateOffset(months=window_months)

    customers = data.customers
    segments = [c for c in (*SEGMENT_COLUMNS, "monthly_margin", "acquisition_cost", "n_referrals") if c in customers]
    contacts = _with_optional(data.contacts, {"reason": None, "resolved_first_contact": None})

    con = duckdb.connect()
    try:
        con.register("customers", customers[["customer_id", "signup_date", "end_date", *segments]])
        con.register("contacts", contacts[["customer_id", "timestamp", "direction", "reason", "resolved_first_contact"]])
        con.register("surveys", data.surveys[["customer_id", "timestamp", "instrument", "score"]])
        params = {
            "as_of": as_of.to_pydatetime(),
            "window_start": window_start.to_pydatetime(),
            "horizon_end": horizon_end.to_pydatetime(),
            "observed_until": data.observed_until.to_pydatetime(),
            "dpm": DAYS_PER_MONTH,
            "inconsistency": INCONSISTENCY_REASON,
        }
        seg_sql = "".join(f", c.{_quote(s)}" for s in segments)
        out = con.execute(_SNAPSHOT_SQL.format(segments=seg_sql), params).df()
    finally:
        con.close()

    for col in ("reactive_90d", "proactive_90d", "unresolved_90d", "inconsistency_90d"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("active", "churned", "event"):
        out[col] = out[col].astype(bool)
    out.attrs.update(
        as_of=as_of.isoformat(), window_months=window_months, horizon_months=horizon_months,
        observed_until=data.observed_until.isoformat(),
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
    """
    customers = data.customers
    segments = [c for c in (*SEGMENT_COLUMNS, "monthly_margin", "acquisition_cost", "n_referrals") if c in customers]
    end = customers["end_date"].where(customers["end_date"] <= data.observed_until, data.observed_until)
    end = end.fillna(data.observed_until)
    out = customers[["customer_id", *segments, "signup_date", "end_date"]].copy()
    out["duration_months"] = (end - customers["signup_date"]).dt.days / DAYS_PER_MONTH
    out["event"] = customers["end_date"].notna() & (customers["end_date"] <= data.observed_until)
    observed_from = data.metadata.get("observed_from")
    if observed_from:
        start = pd.Timestamp(observed_from)
        out["entry_months"] = ((start - customers["signup_date"]).dt.days / DAYS_PER_MONTH).clip(lower=0)
    else:
        out["entry_months"] = 0.0
    return out.reset_index(drop=True)
