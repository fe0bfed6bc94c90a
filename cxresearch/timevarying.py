"""Time-varying drivers of churn: long-format person-months and the models fitted on them.

Each customer contributes one row (episode) per calendar month at risk, with the service contacts and survey
scores of the trailing `window_months` calendar months as they stood at the start of that month. A driver
measured this way never borrows from the future, so "a proactive follow-up lowers the hazard" is estimated
without immortal-time bias (a customer who stays longer has more time to receive follow-ups; counting them over
the whole lifetime would credit the follow-ups with the survival that made them possible).

Time scale and conventions (those of `cxresearch.simulate`): calendar month t is [origin + t months,
origin + t + 1 months), origin = the month of `observed_from` (else of the first signup); a customer who signed
up in month e is at risk from the first full month after signup, e + 1, with tenure k = t - e; the episode of
month t is the tenure interval (k - 1, k], closed by churn if the end date falls in month t. Churn is recorded to
the month, so many customers share a churn time: `fit_time_varying_cox` handles the ties with Efron's method
(lifelines), and `fit_person_month_cloglog` fits the exact grouped-time proportional-hazards model (Prentice &
Gloeckler 1978; a cloglog GLM on person-months with one intercept per tenure month) as a cross-check.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from lifelines import CoxTimeVaryingFitter
from lifelines.exceptions import ConvergenceWarning
from scipy import stats

from cxresearch.results import Estimate
from cxresearch.sampling import Sample, sample_customers
from cxresearch.schema import INCONSISTENCY_REASON, CXData
from cxresearch.survival import NPS_GROUPS, Z95, _band, covariate_design

#: Trailing-window drivers counted from the contacts table (count per customer in the window).
COUNT_DRIVERS: tuple[str, ...] = ("reactive_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d")

#: Window mean CES of the reactive contacts minus 4 (CES 1-7), 0 without any: the simulator's form (see
#: `person_months` for how unanswered contacts are handled).
CES_DRIVER = "ces_centred_90d"


def can_build_person_months(data: CXData) -> tuple[bool, str]:
    """Whether the data has what the long format needs (contacts with timestamps); if not, why."""
    if data.contacts is None or data.contacts.empty:
        return False, "the data has no contacts table rows, so there are no time-stamped drivers to follow"
    if "timestamp" not in data.contacts or data.contacts["timestamp"].isna().all():
        return False, "the contacts carry no timestamps"
    return True, ""


def person_months(
    data: CXData, window_months: int = 3, customer_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per customer and calendar month at risk (DuckDB SQL), with trailing-window drivers.

    Columns: customer_id, month (calendar month index from origin), start, stop (tenure months, episode
    (start, stop]), tenure (= stop, months since the signup month), event (churned in this month), segments
    (plan, contract when present), the `COUNT_DRIVERS` and `CES_DRIVER` over calendar months
    month - window_months .. month - 1, `nps_last` (latest NPS answer before the month began, NaN if none) and its
    `nps_group` (detractor / passive / promoter / no answer).
    `attrs["notes"]` says what was dropped (churn in the signup month: no full month at risk).
    `customer_ids` restricts the table to those customers (e.g. a `sampling.sample_customers` draw); the
    restriction runs inside DuckDB, far faster than filtering tens of millions of contacts in pandas.
    """
    observed_from = data.metadata.get("observed_from")
    customers = data.customers
    first = pd.Timestamp(observed_from) if observed_from else customers["signup_date"].min()
    origin = first.to_period("M").to_timestamp()
    until = data.observed_until
    # months whose start is before the end of observation; the last may be partly observed
    n_months = (until.year - origin.year) * 12 + until.month - origin.month + (until != until.to_period("M").to_timestamp())
    segments = [c for c in ("plan", "contract") if c in customers]
    contacts, surveys = data.contacts, data.surveys
    # CES answers linked to their contacts allow the experienced effort of unanswered contacts to be imputed
    linked = bool(
        "contact_id" in contacts and "contact_id" in surveys and contacts["contact_id"].notna().any()
        and surveys.loc[surveys["instrument"] == "ces", "contact_id"].notna().any()
    )
    if customer_ids is not None:
        customers, contacts, surveys = (_rows_of(f, customer_ids) for f in (customers, contacts, surveys))
    con = duckdb.connect()
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
        params = {
            "y0": origin.year, "m0": origin.month, "n_months": int(n_months), "w": int(window_months),
            "until": until.to_pydatetime(), "origin": origin.to_pydatetime(), "inconsistency": INCONSISTENCY_REASON,
        }
        sql = _PERSON_MONTHS_SQL.format(
            segments="".join(f", c.{s}" for s in segments), segments_ms="".join(f", ms.{s}" for s in segments),
            monthly_ces=_CALIBRATED_CES_SQL if linked else _ANSWERED_CES_SQL,
        )
        out = con.execute(sql, params).df()
        same_month = con.execute(_SAME_MONTH_SQL, {k: params[k] for k in ("y0", "m0", "until")}).fetchone()[0]
    finally:
        con.close()
    for col in COUNT_DRIVERS:
        out[col] = out[col].astype("int64")
    # DuckDB adds floats in whatever order its threads finish, which moves the last bits; rounding far below
    # any meaningful precision makes runs on the same data byte-for-byte reproducible.
    for col in out.select_dtypes("float").columns:
        out[col] = out[col].round(9)
    out["nps_group"] = _band(out["nps_last"], NPS_GROUPS)
    out["event"] = out["event"].astype(bool)
    notes = [
        "window CES: mean over the window's reactive contacts of the answered CES, unanswered contacts imputed with "
        "the mean answer of their resolved-by-channel cell" if linked else
        "window CES: mean of the CES answers given in the window (answers not linked to contacts)"
    ]
    if same_month:
        notes.append(f"{same_month} customers churned within their signup month (no full month at risk): not in "
                     "the time-varying model")
    out.attrs.update(notes=notes, origin=origin.isoformat(), window_months=window_months)
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


@dataclass
class TimeVaryingResult:
    """Hazard ratios of churn per unit of time-varying drivers (and fixed segments), from a long-format model."""

    method: str  # "cox (Efron ties)" or "person-month cloglog"
    table: pd.DataFrame  # indexed by term: coef (log hazard ratio), se, hazard_ratio, hr_ci_low, hr_ci_high, p_value
    n_customers: int
    n_episodes: int
    events: int
    reference_levels: dict[str, str]
    notes: list[str] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        """Model terms (numeric drivers and `column=level` dummies)."""
        return list(self.table.index)

    def summary(self) -> pd.DataFrame:
        """Per term: log hazard ratio, hazard ratio with 95% CI, p-value."""
        return self.table[["coef", "se", "hazard_ratio", "hr_ci_low", "hr_ci_high", "p_value"]].copy()

    def recovery_estimates(self) -> pd.DataFrame:
        """Hazard ratios (estimate, ci_low, ci_high) indexed by the simulator's feature names, for
        `recovery.recovery_table(..., scale="hazard_ratio")`."""
        out = self.table.rename(columns={"hazard_ratio": "estimate", "hr_ci_low": "ci_low", "hr_ci_high": "ci_high"})
        return out[["estimate", "ci_low", "ci_high"]].rename(index={CES_DRIVER: "ces_mean_90d"})

    def to_estimates(self, prefix: str = "tv_hr") -> dict[str, Estimate]:
        """Hazard ratios (ratio per unit / vs reference level, 95% CI) as reportable estimates."""
        out = {}
        for term, row in self.table.iterrows():
            column = term.split("=", 1)[0]
            versus = f" vs {self.reference_levels[column]}" if column in self.reference_levels else " per unit"
            out[f"{prefix}_{term}"] = Estimate(
                value=float(row["hazard_ratio"]), unit="ratio", label=f"Churn hazard ratio: {term}{versus}",
                ci_low=float(row["hr_ci_low"]), ci_high=float(row["hr_ci_high"]), n=self.n_customers,
                note=f"p = {row['p_value']:.3g}; {self.method}, time-varying drivers",
            )
        return out


def fit_time_varying_cox(
    long: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str] = (),
    penalizer: float = 0.0,
) -> TimeVaryingResult:
    """Cox model with time-varying covariates on `person_months` output (lifelines `CoxTimeVaryingFitter`).

    Time scale: tenure in months; each episode (start, stop] enters the risk sets of the churn times inside it.
    Ties (all churns of a tenure month share one time) are handled by Efron's approximation, which on grouped
    monthly data estimates the grouped-time hazard ratios closely while the monthly hazard is small (a few %).

    References
    ----------
    Andersen & Gill (1982), Ann. Stat. 10:1100-1120 (counting-process Cox model); Efron (1977), JASA 72:557-565.
    """
    design, reference_levels, notes = _design(long, covariates, categorical)
    design = design.assign(id=long.loc[design.index, "customer_id"].to_numpy(),
                           start=long.loc[design.index, "start"], stop=long.loc[design.index, "stop"],
                           event=long.loc[design.index, "event"].astype(bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ctv = CoxTimeVaryingFitter(penalizer=penalizer).fit(
            design, id_col="id", event_col="event", start_col="start", stop_col="stop"
        )
    s = ctv.summary
    table = pd.DataFrame({
        "coef": s["coef"], "se": s["se(coef)"], "hazard_ratio": s["exp(coef)"],
        "hr_ci_low": s["exp(coef) lower 95%"], "hr_ci_high": s["exp(coef) upper 95%"], "p_value": s["p"],
    })
    table.index.name = "term"
    return TimeVaryingResult(
        method="Cox (Efron ties)", table=table, n_customers=int(design["id"].nunique()), n_episodes=len(design),
        events=int(design["event"].sum()), reference_levels=reference_levels, notes=notes,
    )


def fit_person_month_cloglog(
    long: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str] = (),
    time_bands: Sequence[int] = (1, 2, 3, 4, 7, 10, 13, 19, 25, 37, 49),
) -> TimeVaryingResult:
    """Grouped-time proportional-hazards model: cloglog GLM of churn in a month on the person-month drivers.

    P(churn in month | at risk) = 1 - exp(-exp(alpha_band(tenure) + x'beta)); beta are log hazard ratios, exactly
    the simulator's form. The baseline is one intercept per tenure band: `time_bands` are the first months of
    each band (default: monthly over the first quarter, quarterly to the first year, half-yearly to two years, then
    yearly; bands without churn are merged into the previous one so every intercept is identified).

    References
    ----------
    Prentice & Gloeckler (1978), Biometrics 34:57-67; Allison (1982), Sociological Methodology 13:61-98.
    """
    design, reference_levels, notes = _design(long, covariates, categorical)
    tenure = long.loc[design.index, "tenure"].to_numpy(int)
    event = long.loc[design.index, "event"].to_numpy(bool)
    cuts = np.asarray(time_bands, dtype=int)
    band = np.searchsorted(cuts, tenure, side="right") - 1
    band = np.maximum(band, 0)
    has_event = np.bincount(band, weights=event, minlength=len(cuts)) > 0
    # merge bands without churn into the previous identified band (a zero-event band has an intercept of -inf)
    keep = np.maximum.accumulate(np.where(has_event, np.arange(len(cuts)), 0))
    band = keep[band]
    levels = np.unique(band)
    baseline = pd.DataFrame((band[:, None] == levels[None, :]).astype(float),
                            columns=[f"_tenure_from_{cuts[b]}" for b in levels], index=design.index)
    x = np.hstack([baseline.to_numpy(), design.to_numpy(float)])
    beta, cov = _fit_cloglog(x, event.astype(float))
    k = baseline.shape[1]
    coef, se = beta[k:], np.sqrt(np.diag(cov)[k:])
    table = pd.DataFrame({
        "coef": coef, "se": se, "hazard_ratio": np.exp(coef),
        "hr_ci_low": np.exp(coef - Z95 * se), "hr_ci_high": np.exp(coef + Z95 * se),
        "p_value": 2 * stats.norm.sf(np.abs(coef / se)),
    }, index=design.columns)
    table.index.name = "term"
    return TimeVaryingResult(
        method="person-month cloglog", table=table, n_customers=int(long.loc[design.index, "customer_id"].nunique()),
        n_episodes=len(design), events=int(event.sum()), reference_levels=reference_levels, notes=notes,
    )


@dataclass
class TimeVaryingDrivers:
    """The time-varying analysis of one data set: Cox model of the drivers (Efron ties), the person-month cloglog
    cross-check, and the Cox model with the latest NPS group added, all on the same customers (`sample`)."""

    cox: TimeVaryingResult
    cloglog: TimeVaryingResult
    with_nps: TimeVaryingResult
    sample: Sample  # customers the person-month table was built from (all, or a stated random sample)
    window_months: int
    table_notes: list[str] = field(default_factory=list)  # how the person-month table was built

    #: Name of the analysis in reports (results approximations, notes).
    ANALYSIS = "time-varying Cox model and its known-truth check"

    def summary(self) -> pd.DataFrame:
        """Per term: the Cox hazard ratio (95% CI, p-value) and the cloglog hazard ratio `hr_cloglog`."""
        cloglog = self.cloglog.summary()[["hazard_ratio"]].rename(columns={"hazard_ratio": "hr_cloglog"})
        return self.cox.summary().join(cloglog)

    def nps_summary(self) -> pd.DataFrame:
        """Hazard ratios of the NPS groups (vs the most common group) in the model with the drivers."""
        return self.with_nps.summary().filter(like="nps_group", axis=0)

    def notes(self) -> list[str]:
        """How the table was built, what the fit dropped, and the sample it rests on (when one was drawn)."""
        sampled = [self.sample.describe(self.ANALYSIS)] if self.sample.sampled else []
        return [*self.table_notes, *self.cox.notes, *sampled]


def fit_time_varying_drivers(
    data: CXData, window_months: int = 3, max_customers: int | None = None, seed: int = 0
) -> TimeVaryingDrivers:
    """Person-months of (at most `max_customers` randomly chosen) customers and the three long-format models.

    The person-month table has one row per customer-month (about 20 per customer over three years), so on a
    large base it and the Cox fits dominate the run time; a simple random sample of customers keeps the hazard
    ratios unbiased, and their intervals are those of the sample (`sampling.sample_customers`). Drivers:
    `COUNT_DRIVERS` and `CES_DRIVER`, with plan and contract as fixed categoricals when present.
    """
    sample = sample_customers(data.customers[["customer_id"]], max_customers, seed)
    long = person_months(data, window_months, sample.frame["customer_id"] if sample.sampled else None)
    covariates = [*COUNT_DRIVERS, CES_DRIVER]
    categorical = [c for c in ("contract", "plan") if c in long]
    return TimeVaryingDrivers(
        cox=fit_time_varying_cox(long, covariates, categorical),
        cloglog=fit_person_month_cloglog(long, covariates, categorical),
        with_nps=fit_time_varying_cox(long, covariates, [*categorical, "nps_group"]),
        sample=sample, window_months=window_months, table_notes=list(long.attrs["notes"]),
    )


def _fit_cloglog(x: np.ndarray, y: np.ndarray, tol: float = 1e-9, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Binomial GLM with complementary log-log link by Fisher scoring (IRLS); coefficients and their covariance
    (inverse expected information, as statsmodels' GLM). Written out because statsmodels' IRLS takes a
    pseudo-inverse of the whole person-month matrix at every step, which is slow at hundreds of thousands of rows.
    """
    rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    # start: the overall monthly hazard in every baseline band, no driver effects
    beta = np.zeros(x.shape[1])
    eta = np.full(len(y), np.log(-np.log1p(-rate)))
    for _ in range(max_iter):
        exp_eta = np.exp(eta)
        mu = np.clip(-np.expm1(-exp_eta), 1e-12, 1 - 1e-12)
        dmu = exp_eta * np.exp(-exp_eta)  # d mu / d eta
        w = dmu**2 / (mu * (1 - mu))
        z = eta + (y - mu) / dmu
        info = x.T @ (x * w[:, None])
        new = np.linalg.solve(info, x.T @ (w * z))
        done = np.max(np.abs(new - beta)) < tol
        beta, eta = new, x @ new
        if done:
            break
    exp_eta = np.exp(eta)
    mu = np.clip(-np.expm1(-exp_eta), 1e-12, 1 - 1e-12)
    w = (exp_eta * np.exp(-exp_eta)) ** 2 / (mu * (1 - mu))
    return beta, np.linalg.inv(x.T @ (x * w[:, None]))


def _design(
    long: pd.DataFrame, covariates: Sequence[str], categorical: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Numeric covariates plus one-hot categoricals (most common level as reference); complete cases only."""
    categorical = [c for c in categorical if c in long]
    numeric = [c for c in covariates if c not in categorical]
    missing = [c for c in numeric if c not in long]
    if missing:
        raise KeyError(f"columns not in the person-month table: {missing}")
    notes: list[str] = []
    data = long[numeric + categorical]
    complete = data.dropna()
    if len(complete) < len(data):
        notes.append(f"complete-case analysis: dropped {len(data) - len(complete)} of {len(data)} person-months "
                     "with missing values")
    design, reference_levels = covariate_design(complete, numeric, categorical, notes)
    return design, reference_levels, notes


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
