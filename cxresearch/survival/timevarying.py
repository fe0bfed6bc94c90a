"""Time-varying drivers of churn: long-format person-months and the models fitted on them.

Each customer contributes one row (episode) per calendar month at risk, with the service contacts and survey
scores of the trailing `window_months` calendar months as they stood at the start of that month. A driver
measured this way never borrows from the future, so "a proactive follow-up lowers the hazard" is estimated
without immortal-time bias (a customer who stays longer has more time to receive follow-ups; counting them over
the whole lifetime would credit the follow-ups with the survival that made them possible).

The person-month table is `survival.person_months.person_months` (time scale: tenure months). Churn is recorded to
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

import numpy as np
import pandas as pd
from lifelines import CoxTimeVaryingFitter
from lifelines.exceptions import ConvergenceWarning
from scipy import stats

from cxresearch.data.schema import CXData
from cxresearch.stats.design import complete_cases, covariate_design
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95
from cxresearch.stats.multiplicity import holm_adjusted
from cxresearch.stats.sampling import Sample, sample_customers
from cxresearch.survival.cloglog import fit_cloglog, person_month_cells, tenure_baseline
from cxresearch.survival.display import summary_html
from cxresearch.survival.person_months import CES_DRIVER, COUNT_DRIVERS, person_months


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

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"{self.method}: {self.n_customers:,} customers, {self.n_episodes:,} "
                            f"person-months, {self.events:,} churns", self.notes)

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

    Parameters
    ----------
    long : `person_months.person_months` output.
    covariates : driver columns (those also in `categorical` are one-hot coded).
    categorical : fixed categorical columns (most common level as reference).
    penalizer : L2 penalizer of lifelines' fit.

    Returns
    -------
    TimeVaryingResult
        Hazard ratios per term with 95% CIs and p-values.

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

    Parameters
    ----------
    long : `person_months.person_months` output.
    covariates, categorical : as in `fit_time_varying_cox`.
    time_bands : first tenure month of each baseline band.

    Returns
    -------
    TimeVaryingResult
        Hazard ratios per term (Wald 95% CIs and p-values).

    References
    ----------
    Prentice & Gloeckler (1978), Biometrics 34:57-67; Allison (1982), Sociological Methodology 13:61-98.
    """
    design, reference_levels, notes = _design(long, covariates, categorical)
    tenure, y, trials, covs = person_month_cells(long, design)
    baseline = tenure_baseline(tenure, y > 0, time_bands)
    x = np.hstack([baseline, covs.to_numpy(float)])
    beta, cov, _ = fit_cloglog(x, y, trials=trials)
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

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"Proportional hazards over tenure: joint likelihood-ratio chi-square "
                            f"{self.joint['statistic']:.1f} on {self.joint['dof']} df, p = {self.joint['p_value']:.3g}",
                            [*self.sentences(), *self.notes])

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
            return [(f"No term's hazard ratio changes with tenure (person-month model with {self._g_text()} "
                     f"interactions on the person-months of {self.n_customers:,} customers, left-truncated ones "
                     f"included; Holm-adjusted p >= {self.alpha:g} for all {tested} terms tested{joint}): each "
                     "hazard ratio can be read as constant over the lifetime.")]
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

    Parameters
    ----------
    long : `person_months.person_months` output.
    covariates, categorical : as in `fit_time_varying_cox`.
    form : "log" or "bands", the g(tenure) of the interaction.
    tenures : two tenures (months) at which the hazard ratios are compared.
    alpha : family-wise error rate over the terms (Holm).
    time_bands : first tenure month of each baseline band.

    Returns
    -------
    TenurePHCheck
        Per-term tests, hazard ratios at both tenures and their drift, and the joint test.

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
    tenure, y, trials, covs = person_month_cells(long, design)
    baseline = tenure_baseline(tenure, y > 0, time_bands)
    x0 = np.hstack([baseline, covs.to_numpy(float)])
    k0 = baseline.shape[1]
    beta0, _, ll0 = fit_cloglog(x0, y, trials=trials)
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
            beta, cov, ll = fit_cloglog(x, y, start=np.r_[beta0, np.zeros(m)], trials=trials)
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
    joint = _joint_tenure_test(x0, covs.to_numpy(float), g_rows, y, trials, beta0, ll0, notes)
    return TenurePHCheck(
        tests=tests, joint=joint, form=form, tenures=tuple(tenures), alpha=alpha, reference_levels=reference_levels,
        n_customers=n_customers, n_episodes=len(design), events=int(y.sum()), notes=notes,
    )


def _joint_tenure_test(
    x0: np.ndarray, covs: np.ndarray, g_rows: np.ndarray, y: np.ndarray, trials: np.ndarray, beta0: np.ndarray,
    ll0: float, notes: list[str],
) -> dict[str, float]:
    """Likelihood-ratio test of every term's tenure interaction at once (the global test of Grambsch & Therneau):
    statistic, dof, p_value; NaN with a note when the model is not identified."""
    inter = np.hstack([covs * g_rows[:, [i]] for i in range(g_rows.shape[1])])
    try:
        _, _, ll_all = fit_cloglog(np.hstack([x0, inter]), y, start=np.r_[beta0, np.zeros(inter.shape[1])],
                                   trials=trials)
        lr_all = max(2 * (ll_all - ll0), 0.0)
    except np.linalg.LinAlgError:
        notes.append("the joint test of all tenure interactions is not identified")
        lr_all = np.nan
    return {"statistic": lr_all, "dof": inter.shape[1], "p_value": float(stats.chi2.sf(lr_all, inter.shape[1]))}


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

    def _repr_html_(self) -> str:
        return (summary_html(self.summary(), f"Time-varying Cox model: {self.cox.n_customers:,} customers, "
                             f"{self.cox.n_episodes:,} person-months, {self.cox.events:,} churns")
                + summary_html(self.nps_summary(), "Adding the latest NPS group as it stood each month", self.notes()))

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

    Parameters
    ----------
    data : the canonical data set, with time-stamped contacts.
    window_months : trailing window of the drivers (calendar months).
    max_customers : at most this many customers, drawn at random with `seed` (None: everyone).
    ph_form : g(tenure) of the tenure check ("log" or "bands"; None skips the check).

    Returns
    -------
    TimeVaryingDrivers
        The Cox, cloglog and with-NPS models on the same customers, and the tenure check.
    """
    sample = sample_customers(data.customers[["customer_id"]], max_customers, seed)
    pm = person_months(data, window_months, sample.frame["customer_id"] if sample.sampled else None)
    long = pm.table
    covariates = [*COUNT_DRIVERS, CES_DRIVER]
    categorical = [c for c in ("contract", "plan") if c in long]
    return TimeVaryingDrivers(
        cox=fit_time_varying_cox(long, covariates, categorical),
        cloglog=fit_person_month_cloglog(long, covariates, categorical),
        with_nps=fit_time_varying_cox(long, covariates, [*categorical, "nps_group"]),
        sample=sample, window_months=window_months, table_notes=list(pm.notes),
        ph=check_tenure_proportional_hazards(long, covariates, categorical, ph_form) if ph_form else None,
    )


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
    complete = complete_cases(long[numeric + categorical], "person-months", notes)
    design, reference_levels = covariate_design(complete, numeric, categorical, notes)
    return design, reference_levels, notes
