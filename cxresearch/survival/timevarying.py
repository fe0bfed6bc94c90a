"""Time-varying drivers of churn: long-format person-months and the models fitted on them.

Each customer contributes one row (episode) per calendar month at risk, with the service contacts and survey
scores of the trailing `window_months` calendar months as they stood at the start of that month. A driver
measured this way never borrows from the future, so "a proactive follow-up lowers the hazard" is estimated
without immortal-time bias (a customer who stays longer has more time to receive follow-ups; counting them over
the whole lifetime would credit the follow-ups with the survival that made them possible).

Time scale and conventions (those of `cxresearch.data.simulate`): calendar month t is [origin + t months,
origin + t + 1 months), origin = the month of `observed_from` (else of the first signup); a customer who signed
up in month e is at risk from the first full month after signup, e + 1, with tenure k = t - e; the episode of
month t is the tenure interval (k - 1, k], closed by churn if the end date falls in month t. Churn is recorded to
the month, so many customers share a churn time: `fit_time_varying_cox` handles the ties with Efron's method
(lifelines), and `fit_person_month_cloglog` fits the exact grouped-time proportional-hazards model (Prentice &
Gloeckler 1978; a cloglog GLM on person-months with one intercept per tenure month) as a cross-check.
`check_tenure_proportional_hazards` tests in that model whether each hazard ratio changes with tenure (covariate x
g(tenure) interactions), on every person-month including left-truncated customers, which lifelines' Schoenfeld
residuals cannot handle.
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

from cxresearch.data.schema import INCONSISTENCY_REASON, CXData
from cxresearch.stats.design import NPS_GROUPS, band_scores, covariate_design
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95
from cxresearch.stats.multiplicity import holm_adjusted
from cxresearch.stats.sampling import Sample, sample_customers

#: Trailing-window drivers counted from the contacts table (count per customer in the window).
COUNT_DRIVERS: tuple[str, ...] = ("reactive_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d")

#: Window mean CES of the reactive contacts minus 4 (CES 1-7), 0 without any: the simulator's form (see
#: `person_months` for how unanswered contacts are handled).
CES_DRIVER = "ces_centred_90d"


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
) -> pd.DataFrame:
    """One row per customer and calendar month at risk (DuckDB SQL), with trailing-window drivers.

    Columns: customer_id, month (calendar month index from origin), start, stop (tenure months, episode
    (start, stop]), tenure (= stop, months since the signup month), event (churned in this month), segments
    (plan, contract when present), the `COUNT_DRIVERS` and `CES_DRIVER` over calendar months
    month - window_months .. month - 1, `nps_last` (latest NPS answer before the month began, NaN if none) and its
    `nps_group` (detractor / passive / promoter / no answer).
    `attrs["notes"]` says what was dropped (churn in the signup month: no full month at risk).
    `customer_ids` restricts the table to those customers (e.g. a `stats.sampling.sample_customers` draw); the
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
    out["nps_group"] = band_scores(out["nps_last"], NPS_GROUPS)
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
        `truth.recovery.recovery_table(..., scale="hazard_ratio")`."""
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
    tenure, y, trials, covs = _cells(long, design)
    baseline = _baseline(tenure, y > 0, time_bands)
    x = np.hstack([baseline, covs.to_numpy(float)])
    beta, cov, _ = _fit_cloglog(x, y, trials=trials)
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
        n_episodes=len(design), events=int(y.sum()), reference_levels=reference_levels, notes=notes,
    )


# --------------------------------------------------------------------------------------------------------------
# Proportional hazards over tenure: covariate x g(tenure) interactions in the person-month model
# --------------------------------------------------------------------------------------------------------------

#: Tenure bands (first month of each) of the step form of the tenure interaction.
PH_TENURE_BANDS: tuple[int, ...] = (1, 7, 13, 25)


@dataclass
class TenurePHCheck:
    """Does each log hazard ratio change with tenure? Per term: test, Holm-adjusted verdict, and the hazard ratio
    at two tenures (the drift) from the person-month cloglog model with that term x g(tenure) added."""

    tests: pd.DataFrame  # term: wald, lr, dof, p_value (LR), p_holm, violated, hr_at_<a>, hr_at_<b> (+ CIs), drift
    joint: dict[str, float]  # LR test of all interactions at once: statistic, dof, p_value
    form: str  # "log" (g = log tenure) or "bands" (g = indicators of `PH_TENURE_BANDS`)
    tenures: tuple[int, int]  # tenure months at which hazard ratios are compared
    alpha: float
    reference_levels: dict[str, str]
    n_customers: int
    n_episodes: int
    events: int
    notes: list[str] = field(default_factory=list)

    #: Name of the analysis in reports (results approximations, skips).
    ANALYSIS = "proportional-hazards check over tenure (person-month model)"

    @property
    def violated(self) -> list[str]:
        """Terms whose hazard ratio changes with tenure (Holm-adjusted p < `alpha`)."""
        return list(self.tests.index[self.tests["violated"]])

    def summary(self) -> pd.DataFrame:
        """Per term: LR statistic, df, p-value and Holm-adjusted p-value, the verdict, the hazard ratio (95% CI) at
        each of `tenures`, and the drift: ratio of the later to the earlier hazard ratio (95% CI)."""
        return self.tests.copy()

    def to_estimates(self, prefix: str = "tv_ph_drift") -> dict[str, Estimate]:
        """Per term: how many times larger the hazard ratio is at the later tenure than at the earlier (ratio,
        95% CI; 1 = proportional hazards)."""
        a, b = self.tenures
        return {
            f"{prefix}_{term}": Estimate(
                value=float(r["drift"]), unit="ratio", ci_low=float(r["drift_ci_low"]),
                ci_high=float(r["drift_ci_high"]), n=self.n_customers,
                label=f"Change of the churn hazard ratio of {term} from {a} to {b} months of tenure",
                note=f"HR at {b} months / HR at {a}; LR p = {r['p_value']:.3g} (Holm {r['p_holm']:.3g}); "
                     f"{self._g_text()} interaction, person-month cloglog",
            )
            for term, r in self.tests.iterrows() if np.isfinite(r["drift"])
        }

    def sentences(self) -> list[str]:
        """Plain-words verdict and remedy, one sentence per violating term (or one saying PH holds)."""
        a, b = self.tenures
        if not self.violated:
            tested = int(self.tests["p_value"].notna().sum())
            joint = f", joint p = {self.joint['p_value']:.2g}" if np.isfinite(self.joint["p_value"]) else ""
            return [f"No term's hazard ratio changes with tenure (person-month model with {self._g_text()} "
                    f"interactions on the person-months of {self.n_customers:,} customers, left-truncated ones "
                    f"included; Holm-adjusted p >= {self.alpha:g} for all {tested} terms tested{joint}): each "
                    "hazard ratio can be read as constant over the lifetime."]
        out = []
        for term in self.violated:
            r = self.tests.loc[term]
            out.append(
                f"{term}: its hazard ratio changes with tenure (likelihood-ratio p = {r['p_value']:.2g}, Holm "
                f"{r['p_holm']:.2g}): HR {r[f'hr_at_{a}']:.2f} (95% CI {r[f'hr_ci_low_at_{a}']:.2f} to "
                f"{r[f'hr_ci_high_at_{a}']:.2f}) at {a} months of tenure and {r[f'hr_at_{b}']:.2f} "
                f"({r[f'hr_ci_low_at_{b}']:.2f} to {r[f'hr_ci_high_at_{b}']:.2f}) at {b}, so the effect "
                f"{_drift_words(r[f'hr_at_{a}'], r[f'hr_at_{b}'])}; remedy: keep the {self._g_text()} interaction "
                f"and report the hazard ratio by tenure rather than one ratio for the whole lifetime."
            )
        return out

    def _g_text(self) -> str:
        return "log-tenure" if self.form == "log" else "tenure-band"


def check_tenure_proportional_hazards(
    long: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str] = (),
    form: str = "log",
    tenures: tuple[int, int] = (6, 24),
    alpha: float = 0.05,
    time_bands: Sequence[int] = (1, 2, 3, 4, 7, 10, 13, 19, 25, 37, 49),
) -> TenurePHCheck:
    """Test proportional hazards in the person-month cloglog model, one term at a time and jointly.

    For term x the model `fit_person_month_cloglog` is refitted with x * g(tenure) added, so the log hazard ratio
    of x at tenure k is beta + gamma'g(k); "gamma = 0" (the log hazard ratio does not change with tenure) is tested
    by a likelihood-ratio test (Wald statistic also reported), the p-values across terms are Holm-adjusted
    (family-wise error `alpha`), and the hazard ratios at the two `tenures` (months since signup) with 95% CIs
    show the size and direction of the drift. `form`: "log" (g = log(k / 12), one df; the discrete-time analogue
    of the Grambsch-Therneau test with a log time transform) or "bands" (g = indicators of `PH_TENURE_BANDS`
    beyond the first, a step function). Left truncation and time-varying drivers need no special handling: every
    person-month at risk enters, whatever the customer's tenure when observation began.

    References
    ----------
    Grambsch & Therneau (1994), Biometrika 81:515-526 (PH test as a covariate x g(time) interaction);
    Allison (1982), Sociological Methodology 13:61-98, and Allison (2010), "Survival Analysis Using SAS", ch. 7
    (discrete-time hazard models, non-proportionality as interactions with time); Holm (1979), Scand. J. Stat.
    6:65-70.
    """
    if form not in ("log", "bands"):
        raise ValueError(f"form must be 'log' or 'bands', not {form!r}")
    design, reference_levels, notes = _design(long, covariates, categorical)
    n_customers = int(long.loc[design.index, "customer_id"].nunique())
    tenure, y, trials, covs = _cells(long, design)
    baseline = _baseline(tenure, y > 0, time_bands)
    x0 = np.hstack([baseline, covs.to_numpy(float)])
    k0 = baseline.shape[1]
    beta0, _, ll0 = _fit_cloglog(x0, y, trials=trials)
    g_rows, g_at = _tenure_functions(tenure, form), _tenure_functions(np.asarray(tenures), form)
    m = g_rows.shape[1]
    if tenure[y > 0].max(initial=0) < max(tenures):
        notes.append(f"no churn observed beyond {int(tenure[y > 0].max(initial=0))} months of tenure: the hazard "
                     f"ratios at {max(tenures)} months extrapolate the {form} form")
    lin = np.hstack([np.ones((2, 1)), g_at])  # log HR at each of `tenures` = lin @ (main effect, interactions)
    rows = []
    for j, term in enumerate(design.columns):
        x = np.hstack([x0, covs[[term]].to_numpy(float) * g_rows])
        try:
            beta, cov, ll = _fit_cloglog(x, y, start=np.r_[beta0, np.zeros(m)], trials=trials)
        except np.linalg.LinAlgError:
            notes.append(f"{term}: its tenure interaction is not identified (the term does not vary within some "
                         "tenure range), so it is not tested")
            rows.append({"term": term, "dof": m})
            continue
        idx = [k0 + j, *range(x0.shape[1], x.shape[1])]  # main effect, then the interactions
        rows.append({"term": term, "dof": m, **_drift_row(beta[idx], cov[np.ix_(idx, idx)], 2 * (ll - ll0), lin,
                                                          tenures)})
    hr_columns = [f"{c}_at_{t}" for t in tenures for c in ("hr", "hr_ci_low", "hr_ci_high")]
    tests = pd.DataFrame(rows).set_index("term").reindex(
        columns=["wald", "lr", "dof", "p_value", *hr_columns, "drift", "drift_ci_low", "drift_ci_high"])
    tests.insert(4, "p_holm", holm_adjusted(tests["p_value"]))
    tests.insert(5, "violated", tests["p_holm"] < alpha)
    # joint: every term's interaction at once (the global test of Grambsch & Therneau)
    inter = np.hstack([covs.to_numpy(float) * g_rows[:, [i]] for i in range(m)])
    try:
        _, _, ll_all = _fit_cloglog(np.hstack([x0, inter]), y, start=np.r_[beta0, np.zeros(inter.shape[1])],
                                    trials=trials)
        lr_all = max(2 * (ll_all - ll0), 0.0)
    except np.linalg.LinAlgError:
        notes.append("the joint test of all tenure interactions is not identified")
        lr_all = np.nan
    joint = {"statistic": lr_all, "dof": inter.shape[1], "p_value": float(stats.chi2.sf(lr_all, inter.shape[1]))}
    return TenurePHCheck(
        tests=tests, joint=joint, form=form, tenures=tuple(tenures), alpha=alpha, reference_levels=reference_levels,
        n_customers=n_customers, n_episodes=len(design), events=int(y.sum()), notes=notes,
    )


def _drift_row(theta: np.ndarray, v: np.ndarray, lr: float, lin: np.ndarray, tenures: tuple[int, int]) -> dict:
    """Tests of the interactions theta[1:] (Wald, LR with its p-value), the hazard ratio at each tenure (rows of
    `lin` @ theta) and their ratio, the drift, all with 95% CIs from the covariance `v` of theta."""
    gamma, v_gamma = theta[1:], v[1:, 1:]
    lr = max(lr, 0.0)
    log_hr, se = lin @ theta, np.sqrt(np.einsum("ij,jk,ik->i", lin, v, lin))
    diff = lin[1] - lin[0]
    drift, drift_se = diff @ theta, np.sqrt(diff @ v @ diff)
    row = {"wald": float(gamma @ np.linalg.solve(v_gamma, gamma)), "lr": lr,
           "p_value": float(stats.chi2.sf(lr, len(gamma)))}
    for t, lh, s in zip(tenures, log_hr, se):
        row.update({f"hr_at_{t}": np.exp(lh), f"hr_ci_low_at_{t}": np.exp(lh - Z95 * s),
                    f"hr_ci_high_at_{t}": np.exp(lh + Z95 * s)})
    row.update(drift=np.exp(drift), drift_ci_low=np.exp(drift - Z95 * drift_se),
               drift_ci_high=np.exp(drift + Z95 * drift_se))
    return row


def _tenure_functions(tenure: np.ndarray, form: str) -> np.ndarray:
    """g(tenure) per row: log(k / 12) (one column; 0 at a year) or indicators of the bands after the first."""
    tenure = np.maximum(np.asarray(tenure, dtype=float), 1.0)
    if form == "log":
        return np.log(tenure / 12.0)[:, None]
    band = np.searchsorted(np.asarray(PH_TENURE_BANDS), tenure, side="right") - 1
    return (band[:, None] == np.arange(1, len(PH_TENURE_BANDS))[None, :]).astype(float)


def _drift_words(hr_early: float, hr_late: float) -> str:
    """'fades with tenure', 'grows with tenure' or 'reverses with tenure', from two hazard ratios."""
    early, late = np.log(hr_early), np.log(hr_late)
    if early * late < 0:
        return f"reverses direction with tenure (log hazard ratio {early:+.2f} to {late:+.2f})"
    return "fades with tenure" if abs(late) < abs(early) else "grows with tenure"


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
    ph: TenurePHCheck | None = None  # proportional hazards over tenure in the person-month model (None: not run)

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
    data: CXData,
    window_months: int = 3,
    max_customers: int | None = None,
    seed: int = 0,
    ph_form: str | None = "log",
) -> TimeVaryingDrivers:
    """Person-months of (at most `max_customers` randomly chosen) customers, the three long-format models, and the
    proportional-hazards check over tenure on the same person-months (`check_tenure_proportional_hazards` with
    g(tenure) of form `ph_form`, "log" or "bands"; None skips it).

    The person-month table has one row per customer-month (about 20 per customer over three years), so on a
    large base it and the Cox fits dominate the run time; a simple random sample of customers keeps the hazard
    ratios unbiased, and their intervals are those of the sample (`stats.sampling.sample_customers`). Drivers:
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
        ph=check_tenure_proportional_hazards(long, covariates, categorical, ph_form) if ph_form else None,
    )


def _cells(long: pd.DataFrame, design: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Cells of identical person-months (same tenure and covariates): tenure, churns, person-months, covariates.

    A person-month model with a tenure baseline depends on a row only through (tenure, covariates), so the binomial
    fit on the cells has the likelihood of the row-level fit on a fraction of the rows (a quarter on the demo).
    """
    cells = (design.assign(_tenure=long.loc[design.index, "tenure"].to_numpy(int),
                           _event=long.loc[design.index, "event"].to_numpy(float))
             .groupby([*design.columns, "_tenure"], sort=False)["_event"].agg(["sum", "size"]).reset_index())
    return (cells["_tenure"].to_numpy(int), cells["sum"].to_numpy(float), cells["size"].to_numpy(float),
            cells[list(design.columns)])


def _baseline(tenure: np.ndarray, event: np.ndarray, time_bands: Sequence[int]) -> np.ndarray:
    """One indicator column per tenure band (`time_bands` = first month of each band); bands without churn are
    merged into the previous one, as a zero-event band has an intercept of -inf."""
    cuts = np.asarray(time_bands, dtype=int)
    band = np.maximum(np.searchsorted(cuts, tenure, side="right") - 1, 0)
    has_event = np.bincount(band, weights=event, minlength=len(cuts)) > 0
    keep = np.maximum.accumulate(np.where(has_event, np.arange(len(cuts)), 0))
    band = keep[band]
    return (band[:, None] == np.unique(band)[None, :]).astype(float)


def _fit_cloglog(
    x: np.ndarray,
    y: np.ndarray,
    tol: float = 1e-9,
    max_iter: int = 50,
    start: np.ndarray | None = None,
    trials: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Binomial GLM with complementary log-log link by Fisher scoring (IRLS); coefficients, their covariance
    (inverse expected information, as statsmodels' GLM) and the maximised log-likelihood. Written out because
    statsmodels' IRLS takes a pseudo-inverse of the whole person-month matrix at every step, which is slow at
    hundreds of thousands of rows. `start`: initial coefficients (e.g. a nested model's, zeros appended).
    `trials`: person-months per row when rows are cells of identical person-months and `y` their churn counts
    (same estimates and log-likelihood as the uncollapsed Bernoulli rows).
    """
    n = np.ones(len(y)) if trials is None else np.asarray(trials, dtype=float)
    if start is None:
        rate = np.clip(y.sum() / n.sum(), 1e-6, 1 - 1e-6)
        # start: the overall monthly hazard in every baseline band, no driver effects
        beta = np.zeros(x.shape[1])
        eta = np.full(len(y), np.log(-np.log1p(-rate)))
    else:
        beta = np.asarray(start, dtype=float)
        eta = x @ beta
    for _ in range(max_iter):
        exp_eta = np.exp(eta)
        mu = np.clip(-np.expm1(-exp_eta), 1e-12, 1 - 1e-12)
        dmu = exp_eta * np.exp(-exp_eta)  # d mu / d eta
        w = n * dmu**2 / (mu * (1 - mu))
        z = eta + (y / n - mu) / dmu
        info = x.T @ (x * w[:, None])
        new = np.linalg.solve(info, x.T @ (w * z))
        done = np.max(np.abs(new - beta)) < tol
        beta, eta = new, x @ new
        if done:
            break
    exp_eta = np.exp(eta)
    mu = np.clip(-np.expm1(-exp_eta), 1e-12, 1 - 1e-12)
    w = n * (exp_eta * np.exp(-exp_eta)) ** 2 / (mu * (1 - mu))
    loglik = float(np.sum(y * np.log(mu) + (n - y) * np.log1p(-mu)))
    return beta, np.linalg.inv(x.T @ (x * w[:, None])), loglik


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
