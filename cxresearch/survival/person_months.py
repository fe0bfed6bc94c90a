"""Person-months: one row per customer and calendar month at risk, with the trailing-window drivers as they stood
when the month began (DuckDB SQL).

Time scale and conventions (those of `cxresearch.data.simulate`): calendar month t is [origin + t months,
origin + t + 1 months), origin = the month observation began (`features.observation.observed_from_or_first_signup`);
a customer who signed up in month e is at risk from the first full month after signup, e + 1, with tenure
k = t - e; the episode of month t is the tenure interval (k - 1, k], closed by churn if the end date falls in
month t.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pandas as pd

from cxresearch.data.out_of_core import bounded_duckdb
from cxresearch.data.schema import INCONSISTENCY_REASON, CXData
from cxresearch.features.observation import observed_from_or_first_signup
from cxresearch.stats.design import NPS_GROUPS, band_scores

#: Trailing-window drivers counted from the contacts table (count per customer in the window).
COUNT_DRIVERS: tuple[str, ...] = ("reactive_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d")

#: Window mean CES of the reactive contacts minus 4 (CES 1-7), 0 without any: the simulator's form (see
#: `person_months` for how unanswered contacts are handled).
CES_DRIVER = "ces_centred_90d"


@dataclass(frozen=True)
class PersonMonths:
    """The person-month table (`person_months`) with what built it: `notes` (what was dropped, how the window CES
    was formed), `origin` (the first day of calendar month 0) and `window_months` (the drivers' trailing window)."""

    table: pd.DataFrame
    origin: pd.Timestamp
    window_months: int
    notes: list[str] = field(default_factory=list)

    def until(self, end: str | pd.Timestamp | None) -> PersonMonths:
        """The person-months of the calendar months that ended by `end` (all when None or "")."""
        if not end:
            return self
        end = pd.Timestamp(end)
        months = (end.year - self.origin.year) * 12 + end.month - self.origin.month
        return replace(self, table=self.table[self.table["month"] < months])

    def month_starts(self) -> pd.DatetimeIndex:
        """The first day of each calendar month of the table (index = month)."""
        n = int(self.table["month"].max()) + 1 if len(self.table) else 0
        return pd.date_range(self.origin, periods=n, freq="MS")


def can_build_person_months(data: CXData) -> tuple[bool, str]:
    """Whether the data has what the long format needs (contacts with timestamps); if not, why."""
    if not data.has_timestamps:
        return False, "drivers measured month by month need event dates; this data has one row per customer"
    if data.contacts is None or data.contacts.empty:
        return False, "the data has no contacts table rows, so there are no time-stamped drivers to follow"
    if "timestamp" not in data.contacts or data.contacts["timestamp"].isna().all():
        return False, "the contacts carry no timestamps"
    return True, ""


def person_months(
    data: CXData, window_months: int = 3, customer_ids: Sequence[str] | None = None
) -> PersonMonths:
    """One row per customer and calendar month at risk (DuckDB SQL), with trailing-window drivers.

    Parameters
    ----------
    data : the canonical data set, with time-stamped contacts (`can_build_person_months`).
    window_months : calendar months of the trailing window the drivers are counted over.
    customer_ids : restricts the table to those customers (e.g. a `stats.sampling.sample_customers` draw); the
        restriction runs inside DuckDB, far faster than filtering tens of millions of contacts in pandas.

    Returns
    -------
    PersonMonths
        `table` columns: customer_id, month (calendar month index from origin), start, stop (tenure months, episode
        (start, stop]), tenure (= stop, months since the signup month), event (churned in this month), segments
        (plan, contract when present), the `COUNT_DRIVERS` and `CES_DRIVER` over calendar months
        month - window_months .. month - 1, `nps_last` (latest NPS answer before the month began, NaN if none) and
        its `nps_group` (detractor / passive / promoter / no answer). `notes`: what was dropped (churn in the
        signup month, no full month at risk) and how the window CES was formed; `origin`: the first day of month 0.
    """
    origin = person_month_origin(data)
    until = data.observed_until
    # months whose start is before the end of observation; the last may be partly observed
    n_months = (until.year - origin.year) * 12 + until.month - origin.month + (until != until.to_period("M").to_timestamp())
    customers, contacts, surveys = data.customers, data.contacts, data.surveys
    segments = [c for c in ("plan", "contract") if c in customers]
    linked = _ces_linked_to_contacts(contacts, surveys)
    if customer_ids is not None:
        customers, contacts, surveys = (_rows_of(f, customer_ids) for f in (customers, contacts, surveys))
    params = {
        "y0": origin.year, "m0": origin.month, "n_months": int(n_months), "w": int(window_months),
        "until": until.to_pydatetime(), "origin": origin.to_pydatetime(), "inconsistency": INCONSISTENCY_REASON,
    }
    out, same_month = _run_person_month_sql(customers, contacts, surveys, segments, linked, params)
    out = _tidy_person_months(out)
    notes = [
        "window CES: mean over the window's reactive contacts of the answered CES, unanswered contacts imputed with "
        "the mean answer of their resolved-by-channel cell" if linked else
        "window CES: mean of the CES answers given in the window (answers not linked to contacts)"
    ]
    if same_month:
        notes.append(f"{same_month} customers churned within their signup month (no full month at risk): not in "
                     "the time-varying model")
    return PersonMonths(out, origin, window_months, notes)


def person_month_origin(data: CXData) -> pd.Timestamp:
    """Calendar month 0 of the person-month table: the first day of the month observation began."""
    return observed_from_or_first_signup(data).to_period("M").to_timestamp()


def _ces_linked_to_contacts(contacts: pd.DataFrame, surveys: pd.DataFrame) -> bool:
    """Whether CES answers carry the contact they rate (then unanswered contacts' effort can be imputed)."""
    return bool(
        "contact_id" in contacts and "contact_id" in surveys and contacts["contact_id"].notna().any()
        and surveys.loc[surveys["instrument"] == "ces", "contact_id"].notna().any()
    )


def _run_person_month_sql(
    customers: pd.DataFrame, contacts: pd.DataFrame, surveys: pd.DataFrame, segments: list[str], linked: bool,
    params: dict,
) -> tuple[pd.DataFrame, int]:
    """The person-month rows from DuckDB, and how many customers churned within their signup month."""
    con = bounded_duckdb()
    try:
        # views select the columns the SQL reads (NULL where a table lacks an optional one), without copying
        for name, frame, columns in (
            ("customers", customers, ["customer_id", "signup_date", "end_date", *segments]),
            ("contacts", contacts, ["contact_id", "customer_id", "timestamp", "channel", "direction", "reason",
                                    "resolved_first_contact"]),
            ("surveys", surveys, ["customer_id", "timestamp", "instrument", "score", "contact_id"]),
        ):
            con.register(f"raw_{name}", frame)
            select = ", ".join(c if c in frame else f"NULL AS {c}" for c in columns)
            con.execute(f"CREATE VIEW {name} AS SELECT {select} FROM raw_{name}")
        sql = _PERSON_MONTHS_SQL.format(
            segments="".join(f", c.{s}" for s in segments), segments_ms="".join(f", ms.{s}" for s in segments),
            monthly_ces=_CALIBRATED_CES_SQL if linked else _ANSWERED_CES_SQL,
        )
        out = con.execute(sql, params).df()
        same_month = con.execute(_SAME_MONTH_SQL, {k: params[k] for k in ("y0", "m0", "until")}).fetchone()[0]
    finally:
        con.close()
    return out, same_month


def _tidy_person_months(out: pd.DataFrame) -> pd.DataFrame:
    """Integer counts, reproducible floats, the NPS group and a boolean event."""
    for col in COUNT_DRIVERS:
        out[col] = out[col].astype("int64")
    # DuckDB adds floats in whatever order its threads finish, which moves the last bits; rounding far below
    # any meaningful precision makes runs on the same data byte-for-byte reproducible.
    for col in out.select_dtypes("float").columns:
        out[col] = out[col].round(9)
    out["nps_group"] = band_scores(out["nps_last"], NPS_GROUPS)
    out["event"] = out["event"].astype(bool)
    return out


_MONTH = "((year({col}) - $y0) * 12 + month({col}) - $m0)"

_PERSON_MONTHS_SQL = f"""
WITH cust AS (
    SELECT customer_id{{segments}},
           {_MONTH.format(col="signup_date")} AS e,
           CASE WHEN end_date IS NOT NULL AND end_date <= $until THEN {_MONTH.format(col="end_date")} END AS x
    FROM customers c
),
pm AS (
    SELECT c.customer_id{{segments}}, r.range AS month, r.range - c.e AS tenure,
           coalesce(c.x = r.range, false) AS event
    FROM cust c
    JOIN range(0, $n_months) r ON r.range > c.e AND r.range <= coalesce(c.x, $n_months - 1)
),
monthly AS (
    SELECT customer_id, {_MONTH.format(col="timestamp")} AS m,
           count(*) FILTER (WHERE direction = 'reactive') AS reactive,
           count(*) FILTER (WHERE direction = 'reactive' AND resolved_first_contact = false) AS unresolved,
           count(*) FILTER (WHERE direction = 'proactive') AS proactive,
           count(*) FILTER (WHERE reason = $inconsistency) AS inconsistency
    FROM contacts GROUP BY ALL
),
monthly_ces AS ({{monthly_ces}}),
windowed AS (
    SELECT pm.customer_id, pm.month,
           coalesce(sum(w.reactive), 0) AS reactive_90d,
           coalesce(sum(w.unresolved), 0) AS unresolved_90d,
           coalesce(sum(w.proactive), 0) AS proactive_90d,
           coalesce(sum(w.inconsistency), 0) AS inconsistency_90d
    FROM pm LEFT JOIN monthly w
      ON w.customer_id = pm.customer_id AND w.m BETWEEN pm.month - $w AND pm.month - 1
    GROUP BY ALL
),
windowed_ces AS (
    SELECT pm.customer_id, pm.month, sum(s.ces_sum) / sum(s.ces_n) - 4 AS ces_centred
    FROM pm JOIN monthly_ces s
      ON s.customer_id = pm.customer_id AND s.m BETWEEN pm.month - $w AND pm.month - 1
    GROUP BY ALL
),
nps AS (SELECT customer_id, timestamp, score FROM surveys WHERE instrument = 'nps'),
month_start AS (SELECT pm.*, $origin + to_months(CAST(pm.month AS INTEGER)) AS month_begins FROM pm)
SELECT ms.customer_id{{segments_ms}}, ms.month, CAST(ms.tenure - 1 AS DOUBLE) AS start,
       CAST(ms.tenure AS DOUBLE) AS stop, ms.tenure, ms.event,
       w.reactive_90d, w.unresolved_90d, w.proactive_90d, w.inconsistency_90d,
       coalesce(wc.ces_centred, 0.0) AS {CES_DRIVER},
       CAST(n.score AS DOUBLE) AS nps_last
FROM month_start ms
JOIN windowed w USING (customer_id, month)
LEFT JOIN windowed_ces wc USING (customer_id, month)
ASOF LEFT JOIN nps n ON n.customer_id = ms.customer_id AND ms.month_begins > n.timestamp
ORDER BY ms.customer_id, ms.month
"""

#: Answered CES per survey month: the window mean of the answers (when surveys cannot be linked to contacts).
_ANSWERED_CES_SQL = f"""
    SELECT customer_id, {_MONTH.format(col="timestamp")} AS m, sum(score) AS ces_sum, count(*) AS ces_n
    FROM surveys WHERE instrument = 'ces' GROUP BY ALL
"""

#: CES per reactive contact (answer, or the mean answer of its resolved x channel cell when unanswered), per
#: contact month: regression calibration (Carroll et al. 2006, ch. 4) of the effort the customer experienced.
_CALIBRATED_CES_SQL = f"""
    WITH r AS (
        SELECT c.customer_id, c.timestamp, c.channel, c.resolved_first_contact AS resolved, s.score
        FROM contacts c
        LEFT JOIN (SELECT contact_id, avg(score) AS score FROM surveys
                   WHERE instrument = 'ces' AND contact_id IS NOT NULL GROUP BY ALL) s USING (contact_id)
        WHERE c.direction = 'reactive'
    ),
    filled AS (
        SELECT customer_id, timestamp,
               coalesce(score, avg(score) OVER (PARTITION BY resolved, channel), avg(score) OVER ()) AS ces
        FROM r
    )
    SELECT customer_id, {_MONTH.format(col="timestamp")} AS m, sum(ces) AS ces_sum, count(ces) AS ces_n
    FROM filled GROUP BY ALL
"""

_SAME_MONTH_SQL = f"""
SELECT count(*) FROM customers
WHERE end_date IS NOT NULL AND end_date <= $until
  AND {_MONTH.format(col="end_date")} = {_MONTH.format(col="signup_date")}
  AND {_MONTH.format(col="end_date")} >= 0
"""


def _rows_of(frame: pd.DataFrame, customer_ids: Sequence[str]) -> pd.DataFrame:
    """The rows of `frame` whose customer_id is in `customer_ids` (order kept).

    The match runs in DuckDB on the id column alone: on tens of millions of rows it is several times faster than
    pandas' `isin` over Python strings.
    """
    con = duckdb.connect()
    try:
        con.register("ids", pd.DataFrame({"customer_id": frame["customer_id"].to_numpy(), "row": np.arange(len(frame))}))
        con.register("kept", pd.DataFrame({"customer_id": pd.unique(np.asarray(customer_ids, dtype=object))}))
        rows = con.execute("SELECT row FROM ids SEMI JOIN kept USING (customer_id) ORDER BY row").fetchnumpy()["row"]
    finally:
        con.close()
    return frame.iloc[rows]
