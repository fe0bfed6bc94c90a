"""Customer lifetime: Kaplan-Meier curves, log-rank tests, Cox proportional hazards and restricted mean survival.

All durations are in months from signup; `event` marks an observed churn, everything else is right-censored.
The estimators are lifelines' (Davidson-Pilon 2019, JOSS 4(40):1317); this module adds the tidy result objects,
the at-risk tables and the data hygiene (small groups, missing values, constant columns) with notes saying what
was done.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from lifelines.utils import median_survival_times, restricted_mean_survival_time

from cxresearch.data.schema import CXData
from cxresearch.stats.design import EFFORT_BANDS, NPS_GROUPS, band_scores, covariate_design
from cxresearch.stats.estimate import Estimate, format_p
from cxresearch.stats.intervals import Z95
from cxresearch.stats.multiplicity import holm_adjusted

if TYPE_CHECKING:
    from cxresearch.survival.timevarying import TenurePHCheck

#: Label of the single group when no grouping column is given.
ALL = "all"



# --------------------------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------------------------


@dataclass
class KMResult:
    """Kaplan-Meier estimates per group (Kaplan & Meier 1958), with log-log Greenwood 95% bands."""

    group: str | None
    survival: pd.DataFrame  # group, time, survival, ci_low, ci_high (time in months, survival as a fraction)
    at_risk: pd.DataFrame  # group, time, at_risk, censored, events
    medians: pd.DataFrame  # group, n, events, median, ci_low, ci_high, reached
    notes: list[str] = field(default_factory=list)
    fitters: dict[str, KaplanMeierFitter] = field(default_factory=dict, repr=False)

    @property
    def groups(self) -> list[str]:
        """Group labels kept in the analysis, in display order."""
        return list(self.fitters)

    def survival_at(self, months: Sequence[float] = (12, 24, 36)) -> pd.DataFrame:
        """Share still active at each horizon (fraction) with 95% CI; NaN beyond a group's follow-up."""
        rows = []
        for name, kmf in self.fitters.items():
            last = float(kmf.durations.max())
            ci = kmf.confidence_interval_survival_function_
            for t in months:
                if t > last:
                    rows.append({"group": name, "months": t, "survival": np.nan, "ci_low": np.nan, "ci_high": np.nan})
                    continue
                rows.append(
                    {
                        "group": name,
                        "months": t,
                        "survival": _step_at(kmf.survival_function_.iloc[:, 0], t),
                        "ci_low": _step_at(ci.iloc[:, 0], t),
                        "ci_high": _step_at(ci.iloc[:, 1], t),
                    }
                )
        return pd.DataFrame(rows, columns=["group", "months", "survival", "ci_low", "ci_high"])

    def summary(self, months: Sequence[float] = (12, 24)) -> pd.DataFrame:
        """One row per group: n, churn events, median lifetime (months, 95% CI) and survival at `months`."""
        out = self.medians.set_index("group")
        at = self.survival_at(months)
        for t in months:
            sub = at[at["months"] == t].set_index("group")
            out[f"survival_{t:g}m"] = sub["survival"]
            out[f"survival_{t:g}m_ci_low"] = sub["ci_low"]
            out[f"survival_{t:g}m_ci_high"] = sub["ci_high"]
        return out

    def to_estimates(self, months: Sequence[float] = (12, 24)) -> dict[str, Estimate]:
        """Median lifetimes (months) and survival at `months` (% still active) as reportable estimates."""
        out: dict[str, Estimate] = {}
        for row in self.medians.itertuples():
            label = f"Median customer lifetime ({row.group})"
            if not row.reached:
                # Not reached: the median lies beyond the longest follow-up, which is then a lower bound.
                follow = float(self.fitters[row.group].durations.max())
                out[f"median_lifetime_{row.group}"] = Estimate(
                    value=follow, unit="months", label=label, n=int(row.n), bound="lower",
                    reason="fewer than half have left within the follow-up",
                )
                continue
            out[f"median_lifetime_{row.group}"] = Estimate(
                value=float(row.median),
                unit="months",
                label=label,
                ci_low=_none_if_nan(row.ci_low),
                ci_high=_none_if_nan(row.ci_high),
                n=int(row.n),
            )
        for row in self.survival_at(months).itertuples():
            if np.isnan(row.survival):
                continue
            out[f"survival_{row.months:g}m_{row.group}"] = Estimate(
                value=100 * row.survival,
                unit="%",
                label=f"Still active after {row.months:g} months ({row.group})",
                ci_low=100 * row.ci_low,
                ci_high=100 * row.ci_high,
                n=int(self.fitters[row.group].durations.shape[0]),
            )
        return out


def kaplan_meier(
    df: pd.DataFrame,
    group: str | None = None,
    duration: str = "duration_months",
    event: str = "event",
    min_group_size: int = 30,
    at_risk_step: float = 6.0,
    entry: str | None = None,
) -> KMResult:
    """Kaplan-Meier survival (fraction still active vs months) per level of `group`, with at-risk table.

    Parameters
    ----------
    df : one row per customer with `duration` (months, right-censored) and `event` (churn observed).
    group : optional column; levels with fewer than `min_group_size` customers are dropped with a note.
    at_risk_step : spacing in months of the at-risk table (0, step, 2*step, ... up to the last follow-up).
    entry : optional column of left-truncation (delayed entry) times in months since signup, 0 = observed from
        signup. A customer who signed up before observation began is in the data only because they survived to
        their entry time; without `entry` early survival is overstated (immortal time). Rows with missing or
        negative entry, or no follow-up after entry (entry > 0 and entry >= duration), are dropped with a note.

    Returns
    -------
    KMResult. The at-risk table follows survminer: `at_risk` at time t counts customers with duration >= t;
    `events` and `censored` count those with duration <= t (cumulative). With `entry`, a customer is at risk at t
    only if entry < t <= duration (counting-process convention, as lifelines' KM estimator: one entering at t is
    at risk just after t; customers entering at the earliest entry time, usually 0, are at risk from it on, so
    at t = 0 the table counts those with entry 0). The same risk sets are used by the estimator, the RMST SE,
    the log-rank and the CLV bootstrap (`_at_risk_counts`). With `entry` the risk set can be small at early
    times; the curve there rests on few customers.

    References
    ----------
    Kaplan & Meier (1958), JASA 53:457-481. Median CI: Brookmeyer & Crowley (1982), Biometrics 38:29-41, taken as
    the times where the 95% band crosses 0.5 (lifelines `median_survival_times` of the confidence interval).
    """
    groups, notes = split_groups(df, group, duration, event, min_group_size, entry)
    fitters: dict[str, KaplanMeierFitter] = {}
    curves, tables, medians = [], [], []
    for name, sub in groups.items():
        enter = sub[entry] if entry else None
        kmf = KaplanMeierFitter(label=name).fit(sub[duration], sub[event], entry=enter, label=name)
        fitters[name] = kmf
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        curves.append(
            pd.DataFrame(
                {
                    "group": name,
                    "time": sf.index.to_numpy(dtype=float),
                    "survival": sf.to_numpy(),
                    "ci_low": ci.iloc[:, 0].to_numpy(),
                    "ci_high": ci.iloc[:, 1].to_numpy(),
                }
            )
        )
        tables.append(
            _at_risk_table(
                name,
                sub[duration].to_numpy(float),
                sub[event].to_numpy(bool),
                at_risk_step,
                None if enter is None else enter.to_numpy(float),
            )
        )
        medians.append(_median_row(name, kmf, len(sub), int(sub[event].sum())))
    return KMResult(
        group=group,
        survival=pd.concat(curves, ignore_index=True),
        at_risk=pd.concat(tables, ignore_index=True),
        medians=pd.DataFrame(medians),
        notes=notes,
        fitters=fitters,
    )


def _at_risk_table(
    name: str, t: np.ndarray, e: np.ndarray, step: float, entry: np.ndarray | None = None
) -> pd.DataFrame:
    """Survminer-style counts at 0, step, 2*step, ...: at risk (see `_at_risk_counts`), cumulative events and
    censored."""
    times = np.arange(0.0, np.ceil(t.max() / step) * step + step / 2, step)
    entry = np.zeros_like(t) if entry is None else entry
    return pd.DataFrame(
        {
            "group": name,
            "time": times,
            "at_risk": _at_risk_counts(t, entry, times).astype(int),
            "censored": [int(((t <= x) & ~e).sum()) for x in times],
            "events": [int(((t <= x) & e).sum()) for x in times],
        }
    )


def _median_row(name: str, kmf: KaplanMeierFitter, n: int, events: int) -> dict:
    """Median lifetime (months) and Brookmeyer-Crowley-style CI; NaN where the curve never crosses 0.5."""
    median = float(kmf.median_survival_time_)
    ci = median_survival_times(kmf.confidence_interval_survival_function_)
    # lower band crosses first: its crossing is the CI's lower limit
    lo, hi = float(ci.iloc[0, 0]), float(ci.iloc[0, 1])
    return {
        "group": name,
        "n": n,
        "events": events,
        "median": median if np.isfinite(median) else np.nan,
        "ci_low": lo if np.isfinite(lo) else np.nan,
        "ci_high": hi if np.isfinite(hi) else np.nan,
        "reached": bool(np.isfinite(median)),
    }


# --------------------------------------------------------------------------------------------------------------
# Log-rank
# --------------------------------------------------------------------------------------------------------------


@dataclass
class LogRankResult:
    """Log-rank test that all groups share one survival curve (Mantel 1966; Peto & Peto 1972)."""

    group: str
    statistic: float  # chi-squared
    dof: int
    p_value: float
    n: int
    groups: list[str]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One-row table: test statistic, degrees of freedom, p-value, customers and groups compared."""
        return pd.DataFrame(
            [
                {
                    "group": self.group,
                    "statistic": self.statistic,
                    "dof": self.dof,
                    "p_value": self.p_value,
                    "n": self.n,
                    "groups": ", ".join(self.groups),
                }
            ]
        ).set_index("group")


def logrank(
    df: pd.DataFrame,
    group: str,
    duration: str = "duration_months",
    event: str = "event",
    min_group_size: int = 30,
    entry: str | None = None,
) -> LogRankResult:
    """Multivariate log-rank test across the levels of `group` (small levels dropped as in `kaplan_meier`).

    With `entry` (left-truncation times, months) and any entry > 0 the test is computed here, since lifelines'
    log-rank has no delayed entry: risk sets R(t) = {i: entry_i < t <= duration_i} (the same convention as
    `kaplan_meier`, see `_at_risk_counts`), then the standard statistic (see `_logrank_statistic`).
    """
    groups, notes = split_groups(df, group, duration, event, min_group_size, entry)
    if len(groups) < 2:
        raise ValueError(f"log-rank test needs at least two groups of >= {min_group_size} customers in {group!r}")
    data = pd.concat(groups.values(), keys=groups.keys(), names=["_group", None]).reset_index(level="_group")
    if entry and (data[entry] > 0).any():
        stat, p_value = _logrank_statistic(
            data[duration].to_numpy(float),
            data[event].to_numpy(bool),
            data["_group"].to_numpy(),
            data[entry].to_numpy(float),
        )
        notes.append("log-rank with left-truncation risk sets (entry < t <= duration)")
    else:
        res = multivariate_logrank_test(data[duration], data["_group"], data[event])
        stat, p_value = float(res.test_statistic), float(res.p_value)
    return LogRankResult(
        group=group,
        statistic=stat,
        dof=len(groups) - 1,
        p_value=p_value,
        n=len(data),
        groups=list(groups),
        notes=notes,
    )


def _logrank_statistic(
    t: np.ndarray, e: np.ndarray, labels: np.ndarray, entry: np.ndarray | None = None
) -> tuple[float, float]:
    """k-group log-rank chi-square and p-value with delayed entry (Mantel 1966; Klein & Moeschberger 2003, 7.3).

    At each distinct churn time t_j: n_gj = #{i in g: entry_i < t_j <= t_i} (`_at_risk_counts` over all groups'
    earliest entry), d_gj churns in g, n_j, d_j totals.
    Z_g = sum_j (d_gj - n_gj d_j / n_j); V_gh = sum_j d_j (n_j - d_j) / (n_j - 1) * n_gj / n_j * (1[g=h] - n_hj / n_j).
    Chi-square = Z' V^- Z on k - 1 degrees of freedom (first k - 1 groups; pseudo-inverse as in lifelines).
    """
    from scipy import stats

    entry = np.zeros_like(t) if entry is None else entry
    levels = np.unique(labels)
    times = np.unique(t[e])
    n = np.empty((len(times), len(levels)))
    d = np.empty_like(n)
    first = float(entry.min())
    for g, level in enumerate(levels):
        mask = labels == level
        n[:, g] = _at_risk_counts(t[mask], entry[mask], times, first)
        d[:, g] = np.bincount(np.searchsorted(times, t[mask & e]), minlength=len(times))
    n_tot, d_tot = n.sum(axis=1), d.sum(axis=1)
    share = n / n_tot[:, None]
    z = (d - share * d_tot[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n_tot > 1, d_tot * (n_tot - d_tot) / (n_tot - 1), 0.0)
    v = np.einsum("j,jg,gh->gh", w, share, np.eye(len(levels))) - np.einsum("j,jg,jh->gh", w, share, share)
    k = len(levels) - 1
    stat = float(z[:k] @ np.linalg.pinv(v[:k, :k]) @ z[:k])
    return stat, float(stats.chi2.sf(stat, k))


# --------------------------------------------------------------------------------------------------------------
# Cox proportional hazards
# --------------------------------------------------------------------------------------------------------------


@dataclass
class CoxResult:
    """Cox proportional-hazards fit (Cox 1972): hazard ratios of churn per unit / vs the reference level."""

    table: pd.DataFrame  # indexed by term: coef, se, hazard_ratio, hr_ci_low, hr_ci_high, p_value
    concordance: float
    n: int
    events: int
    penalizer: float
    reference_levels: dict[str, str]
    notes: list[str] = field(default_factory=list)
    fitter: CoxPHFitter | None = field(default=None, repr=False)
    data: pd.DataFrame | None = field(default=None, repr=False)  # the design matrix actually fitted

    @property
    def terms(self) -> list[str]:
        """Model terms (numeric covariates and `column=level` dummies)."""
        return list(self.table.index)

    def summary(self) -> pd.DataFrame:
        """Per term: log hazard ratio, hazard ratio with 95% CI, p-value."""
        return self.table[["coef", "hazard_ratio", "hr_ci_low", "hr_ci_high", "p_value"]].copy()

    def hazard_ratio(self, term: str) -> Estimate:
        """Hazard ratio of one term with its 95% CI (ratio; >1 means faster churn)."""
        if term not in self.table.index:
            raise KeyError(f"unknown term {term!r}; terms are {self.terms}")
        row = self.table.loc[term]
        column = term.split("=", 1)[0]
        versus = f" vs {self.reference_levels[column]}" if column in self.reference_levels else " per unit"
        return Estimate(
            value=float(row["hazard_ratio"]),
            unit="ratio",
            label=f"Churn hazard ratio: {term}{versus}",
            ci_low=float(row["hr_ci_low"]),
            ci_high=float(row["hr_ci_high"]),
            n=self.n,
            note=f"p = {row['p_value']:.3g}; Cox PH, penalizer {self.penalizer:g}",
        )

    def ph_test(self) -> pd.DataFrame:
        """Schoenfeld-residual test of proportional hazards per term (Grambsch & Therneau 1994), rank time.

        Not available for fits with delayed entry: lifelines has no Schoenfeld residuals with entry times.
        """
        if self.fitter is not None and getattr(self.fitter, "entry_col", None):
            raise NotImplementedError(
                "proportional-hazards test is not available for a Cox fit with delayed entry (lifelines computes no "
                "Schoenfeld residuals with entry times); check PH with the fit without `entry` or by stratifying"
            )
        res = proportional_hazard_test(self.fitter, self.data, time_transform="rank")
        return res.summary[["test_statistic", "p"]].rename(columns={"p": "p_value"})


def fit_cox(
    df: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str] = (),
    duration: str = "duration_months",
    event: str = "event",
    penalizer: float = 0.0,
    max_missing: float = 0.5,
    entry: str | None = None,
) -> CoxResult:
    """Cox proportional-hazards model of churn on `covariates` (numeric) and `categorical` columns.

    Data hygiene, each step recorded in `notes`: columns more than `max_missing` missing are dropped; remaining
    rows with any missing value are dropped (complete-case, count reported); categoricals are one-hot coded with
    the most common level as reference; constant columns are dropped. If the unpenalized fit fails to converge it
    is refitted with an L2 penalizer of 0.1 (hazard ratios then shrink towards 1).

    `entry` : optional column of left-truncation (delayed entry) times in months (lifelines `entry_col`): a
    customer is in the risk set only from their entry time on. Rows with missing entry are dropped with the
    complete-case rows; rows with negative entry or no follow-up after entry (entry > 0, entry >= duration) with
    a note.

    References
    ----------
    Cox (1972), JRSS-B 34:187-220; concordance: Harrell et al. (1996), Stat Med 15:361-387.
    """
    categorical = list(categorical)
    numeric = [c for c in covariates if c not in categorical]
    columns = numeric + categorical
    extra = [entry] if entry else []
    missing_cols = [c for c in columns + [duration, event] + extra if c not in df.columns]
    if missing_cols:
        raise KeyError(f"columns not in data: {missing_cols}")
    notes: list[str] = []

    share_missing = df[columns].isna().mean()
    too_sparse = [c for c in columns if share_missing[c] > max_missing]
    if too_sparse:
        notes.append(
            f"dropped {too_sparse}: more than {max_missing:.0%} missing "
            f"({', '.join(f'{share_missing[c]:.0%}' for c in too_sparse)})"
        )
    numeric = [c for c in numeric if c not in too_sparse]
    categorical = [c for c in categorical if c not in too_sparse]

    data = df[numeric + categorical + [duration, event] + extra]
    complete = data.dropna()
    if len(complete) < len(data):
        notes.append(f"complete-case analysis: dropped {len(data) - len(complete)} of {len(data)} customers with missing values")
    if entry:
        bad = (complete[entry] < 0) | ((complete[entry] > 0) & (complete[entry] >= complete[duration]))
        if bad.any():
            notes.append(f"dropped {int(bad.sum())} customers with negative entry or no follow-up after entry")
            complete = complete[~bad]

    design, reference_levels = covariate_design(complete, numeric, categorical, notes)
    design[duration] = complete[duration].astype(float)
    design[event] = complete[event].astype(bool)
    if entry:
        design[entry] = complete[entry].astype(float)

    cph, used_penalizer = _fit_cph(design, duration, event, penalizer, notes, entry)
    s = cph.summary
    table = pd.DataFrame(
        {
            "coef": s["coef"],
            "se": s["se(coef)"],
            "hazard_ratio": s["exp(coef)"],
            "hr_ci_low": s["exp(coef) lower 95%"],
            "hr_ci_high": s["exp(coef) upper 95%"],
            "p_value": s["p"],
        }
    )
    table.index.name = "term"
    return CoxResult(
        table=table,
        concordance=float(cph.concordance_index_),
        n=len(design),
        events=int(design[event].sum()),
        penalizer=used_penalizer,
        reference_levels=reference_levels,
        notes=notes,
        fitter=cph,
        data=design,
    )


def _fit_cph(
    design: pd.DataFrame, duration: str, event: str, penalizer: float, notes: list[str], entry: str | None = None
) -> tuple[CoxPHFitter, float]:
    """Fit lifelines' CoxPHFitter; on non-convergence (or its separation warning) refit with penalizer 0.1."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            return CoxPHFitter(penalizer=penalizer).fit(design, duration, event, entry_col=entry), penalizer
    except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError) as err:
        fallback = max(0.1, penalizer)
        notes.append(
            f"Cox fit failed or warned of (quasi-)separation ({type(err).__name__}: "
            f"{str(err).strip().split('. ')[0]}); refitted with L2 penalizer {fallback:g}, so hazard ratios are "
            "shrunk towards 1"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return CoxPHFitter(penalizer=fallback).fit(design, duration, event, entry_col=entry), fallback


# --------------------------------------------------------------------------------------------------------------
# Restricted mean survival time
# --------------------------------------------------------------------------------------------------------------


def rmst(
    data: KMResult | pd.DataFrame,
    horizon_months: float,
    group: str | None = None,
    duration: str = "duration_months",
    event: str = "event",
    min_group_size: int = 30,
    entry: str | None = None,
) -> pd.DataFrame:
    """Restricted mean survival time: expected months active within the first `horizon_months`, per group.

    RMST(tau) = integral_0^tau S(u) du (lifelines `restricted_mean_survival_time`). Its standard error is the
    Greenwood-type estimator Var = sum_{t_j <= tau} A_j^2 d_j / (n_j (n_j - d_j)), A_j = integral_{t_j}^tau S(u) du
    (Klein & Moeschberger 2003, eq. 4.5.1; as in R survRM2). lifelines' `return_variance=True` is not used for the
    CI: it returns Var(min(T, tau)), the spread of customers' restricted lifetimes, not the estimator's variance.
    Where tau exceeds a group's follow-up and its curve has not reached zero, RMST is not identified: NaN and a
    note (in `attrs["notes"]`).

    `entry` (left-truncation times, months; used only when `data` is a DataFrame) is passed to `kaplan_meier`;
    the SE then uses the truncation-aware risk sets n_j = #{entry < t_j <= duration} of the KM (lifelines' event
    table less those entering at t_j).

    Returns
    -------
    DataFrame with group, rmst, se, ci_low, ci_high, horizon (all in months).
    """
    km = (
        data
        if isinstance(data, KMResult)
        else kaplan_meier(data, group, duration, event, min_group_size, entry=entry)
    )
    notes = list(km.notes)
    rows = []
    for name, kmf in km.fitters.items():
        sf = kmf.survival_function_.iloc[:, 0]
        # months are days / 30.4375, so "12 calendar months" of follow-up can read 11.99: allow a day's slack
        if horizon_months > float(kmf.durations.max()) + 1 / 30.4375 and sf.iloc[-1] > 0:
            notes.append(f"{name}: horizon {horizon_months:g} months exceeds follow-up ({kmf.durations.max():.1f})")
            rows.append({"group": name, "rmst": np.nan, "se": np.nan, "horizon": horizon_months})
            continue
        value = float(restricted_mean_survival_time(kmf, t=horizon_months))
        se = _rmst_se(kmf, horizon_months)
        rows.append({"group": name, "rmst": value, "se": se, "horizon": horizon_months})
    out = pd.DataFrame(rows)
    # A restricted mean lies in [0, horizon]: the normal interval is cut there, not extended past it.
    out["ci_low"] = (out["rmst"] - Z95 * out["se"]).clip(lower=0.0)
    out["ci_high"] = (out["rmst"] + Z95 * out["se"]).clip(upper=horizon_months)
    out = out[["group", "rmst", "se", "ci_low", "ci_high", "horizon"]]
    out.attrs["notes"] = notes
    return out


def _rmst_se(kmf: KaplanMeierFitter, tau: float) -> float:
    """Greenwood-type standard error (months) of the KM restricted mean up to `tau`."""
    table = kmf.event_table.copy()
    # lifelines' KM risk set at t_j excludes those entering at t_j (except at the first time): its event table's
    # `at_risk` includes them, so take them out to match the estimator (no-op without entry)
    entering = table["entrance"].to_numpy(float).copy()
    entering[0] = 0.0
    table["n"] = table["at_risk"].to_numpy(float) - entering
    table = table[(table.index <= tau) & (table["observed"] > 0)]
    if table.empty:
        return 0.0
    t = table.index.to_numpy(float)
    d = table["observed"].to_numpy(float)
    n = table["n"].to_numpy(float)
    s = np.array([_step_at(kmf.survival_function_.iloc[:, 0], x) for x in t])
    # A_j = area under S from t_j to tau; S is flat at s_j between event times
    widths = np.diff(np.append(t, tau))
    area = np.cumsum((s * widths)[::-1])[::-1]
    # survRM2 convention: a step where everyone at risk churns contributes nothing (S is 0 afterwards)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n > d, d / (n * (n - d)), 0.0)
    return float(np.sqrt(np.sum(area**2 * w)))


def rmst_difference(
    data: KMResult | pd.DataFrame,
    horizon_months: float,
    group: str | None = None,
    reference: str | None = None,
    duration: str = "duration_months",
    event: str = "event",
    min_group_size: int = 30,
    entry: str | None = None,
) -> pd.DataFrame:
    """Difference in restricted mean lifetime (months within the first `horizon_months`) of each group vs
    `reference` (default: the group with the shortest RMST, so differences read "stays X months longer").

    The groups are independent samples, so Var(RMST_g - RMST_ref) = Var(RMST_g) + Var(RMST_ref), each the
    Greenwood-type variance of `rmst`; 95% CI and two-sided p-value from the normal approximation (Royston &
    Parmar 2013, BMC Med Res Methodol 13:152; R survRM2).

    Returns
    -------
    DataFrame with group, reference, difference, se, ci_low, ci_high (months), p_value, horizon.
    """
    table = rmst(data, horizon_months, group, duration, event, min_group_size, entry).set_index("group")
    known = table.dropna(subset=["rmst"])
    if len(known) < 2:
        raise ValueError("RMST differences need at least two groups with follow-up to the horizon")
    reference = str(known["rmst"].idxmin()) if reference is None else reference
    if reference not in known.index:
        raise KeyError(f"reference {reference!r} not among groups with an RMST: {list(known.index)}")
    from scipy import stats

    ref = known.loc[reference]
    out = pd.DataFrame({"group": [g for g in known.index if g != reference]})
    out["reference"] = reference
    other = known.loc[out["group"]]
    out["difference"] = (other["rmst"] - ref["rmst"]).to_numpy()
    out["se"] = np.sqrt(other["se"].to_numpy() ** 2 + ref["se"] ** 2)
    out["ci_low"] = (out["difference"] - Z95 * out["se"]).clip(lower=-horizon_months)
    out["ci_high"] = (out["difference"] + Z95 * out["se"]).clip(upper=horizon_months)
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["difference"] / out["se"]))
    out["horizon"] = float(horizon_months)
    out.attrs["notes"] = table.attrs.get("notes", [])
    return out


# --------------------------------------------------------------------------------------------------------------
# Pairwise log-rank with multiplicity correction
# --------------------------------------------------------------------------------------------------------------


def pairwise_logrank(
    df: pd.DataFrame,
    group: str,
    duration: str = "duration_months",
    event: str = "event",
    min_group_size: int = 30,
    entry: str | None = None,
    method: str = "holm",
) -> pd.DataFrame:
    """Log-rank test for every pair of levels of `group`, p-values adjusted for multiplicity (Holm 1979 by
    default; any `statsmodels.stats.multitest.multipletests` method). Delayed entry as in `logrank`.

    Returns
    -------
    DataFrame with group_a, group_b, statistic (chi-square, 1 df), p_value, p_adjusted, method.
    """
    from itertools import combinations

    from statsmodels.stats.multitest import multipletests

    groups, _ = split_groups(df, group, duration, event, min_group_size, entry)
    if len(groups) < 2:
        raise ValueError(f"pairwise log-rank needs at least two groups of >= {min_group_size} customers in {group!r}")
    rows = []
    for a, b in combinations(groups, 2):
        pair = pd.concat([groups[a], groups[b]])
        labels = np.repeat([a, b], [len(groups[a]), len(groups[b])])
        stat, p_value = _logrank_statistic(
            pair[duration].to_numpy(float), pair[event].to_numpy(bool), labels,
            pair[entry].to_numpy(float) if entry else None,
        )
        rows.append({"group_a": a, "group_b": b, "statistic": stat, "p_value": p_value})
    out = pd.DataFrame(rows)
    out["p_adjusted"] = multipletests(out["p_value"], method=method)[1]
    out["method"] = method
    return out


# --------------------------------------------------------------------------------------------------------------
# Proportional-hazards check with a remedy
# --------------------------------------------------------------------------------------------------------------


@dataclass
class PHCheck:
    """Scaled-Schoenfeld test per term (Holm-adjusted across terms) and, for violating terms, a Cox refit with the
    effect split at a cut time."""

    tests: pd.DataFrame  # term: statistic, p_value, p_holm, violated (p_holm < alpha)
    alpha: float
    cut_months: float
    model: CoxResult
    remedy: CoxResult | None = None  # violating terms as `term@<cut` and `term@>=cut` (hazard ratio before/after)

    @property
    def violated(self) -> list[str]:
        """Terms whose hazard ratio changes with time at family-wise level `alpha` (Holm)."""
        return list(self.tests.index[self.tests["violated"]])

    def summary(self) -> pd.DataFrame:
        """Per term: PH test statistic, p-value and Holm-adjusted p-value, and for violating terms the hazard ratio
        before and after the cut (95% CIs)."""
        out = self.tests.copy()
        if self.remedy is not None:
            hr = self.remedy.summary()
            for phase, suffix in (("before", f"@<{self.cut_months:g}m"), ("after", f"@>={self.cut_months:g}m")):
                for col in ("hazard_ratio", "hr_ci_low", "hr_ci_high"):
                    out[f"{col}_{phase}"] = [hr[col].get(t + suffix, np.nan) for t in out.index]
        return out

    def sentences(self) -> list[str]:
        """Plain-words verdict and remedy, one sentence per violating term (or one saying PH holds)."""
        if not self.violated:
            return [f"No term violates proportional hazards (scaled Schoenfeld test, Holm-adjusted p >= "
                    f"{self.alpha:g} for every term): each hazard ratio can be read as constant over the follow-up."]
        table = self.summary()
        out = []
        for term in self.violated:
            row = table.loc[term]
            out.append(
                f"{term}: its hazard ratio changes over time (Schoenfeld p = {row['p_value']:.2g}, Holm "
                f"{row['p_holm']:.2g}); remedy: a time interaction splitting the effect at {self.cut_months:g} months "
                f"gives HR {row['hazard_ratio_before']:.2f} (95% CI {row['hr_ci_low_before']:.2f} to "
                f"{row['hr_ci_high_before']:.2f}) before and {row['hazard_ratio_after']:.2f} "
                f"({row['hr_ci_low_after']:.2f} to {row['hr_ci_high_after']:.2f}) after."
            )
        return out


def check_proportional_hazards(
    df: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str] = (),
    duration: str = "duration_months",
    event: str = "event",
    alpha: float = 0.05,
    cut_months: float | None = None,
) -> PHCheck:
    """Fit a Cox model, test proportional hazards per term, and refit violators with a step time interaction.

    Test: scaled Schoenfeld residuals against rank time (Grambsch & Therneau 1994, Biometrika 81:515-526), one per
    term; the p-values are Holm-adjusted (Holm 1979, Scand. J. Stat. 6:65-70), so when every hazard is
    proportional the chance of flagging any term is at most `alpha`. Remedy
    for a violating term X: each customer's follow-up is split at `cut_months` (default: the median churn time)
    into two episodes, and X enters as X * 1[t < cut] and X * 1[t >= cut], so the refit reports one hazard ratio
    before and one after the cut (Therneau & Grambsch 2000, "Modeling Survival Data", sec. 6.6: step-function
    time interactions via episode splitting). Terms that pass keep a single hazard ratio.
    """
    cox = fit_cox(df, covariates, categorical, duration, event)
    tests = cox.ph_test().rename(columns={"test_statistic": "statistic"})
    tests["p_holm"] = holm_adjusted(tests["p_value"])
    tests["violated"] = tests["p_holm"] < alpha
    tests.index.name = "term"
    design = cox.data
    if cut_months is None:
        # a whole number of months reads better and the exact cut hardly matters for a step interaction
        cut_months = max(1.0, float(np.round(np.median(design.loc[design[event], duration]))))
    check = PHCheck(tests=tests, alpha=alpha, cut_months=float(cut_months), model=cox)
    if not check.violated:
        return check
    # lifelines needs duration > entry on every episode: drop zero follow-up (churn on day 0 carries no timing)
    design = design[design[duration] > 0]
    early = design.assign(_entry=0.0, **{duration: np.minimum(design[duration], cut_months)})
    early[event] = design[event] & (design[duration] <= cut_months)
    late = design[design[duration] > cut_months].assign(_entry=float(cut_months))
    split = pd.concat([early, late], ignore_index=True)
    after = split["_entry"] >= cut_months
    for term in check.violated:
        split[f"{term}@<{cut_months:g}m"] = split[term].where(~after, 0.0)
        split[f"{term}@>={cut_months:g}m"] = split[term].where(after, 0.0)
    terms = [c for c in split.columns if c not in (duration, event, "_entry", *check.violated)]
    check.remedy = _fit_split(split, terms, duration, event, cox.reference_levels)
    return check


def _fit_split(
    split: pd.DataFrame, terms: list[str], duration: str, event: str, reference_levels: dict[str, str]
) -> CoxResult:
    """Cox fit on data split at one cut into episodes (`_entry`, `duration`], `_entry` 0 or the cut.

    Every churn time before the cut has only first episodes at risk and every later one only second episodes (all
    entered at the cut), so the partial likelihood is that of a Cox model stratified by episode without delayed
    entry; lifelines fits that far faster than its delayed-entry or counting-process paths.
    """
    data = split[terms].assign(_period=(split["_entry"] > 0).astype(int), **{duration: split[duration],
                                                                           event: split[event].astype(bool)})
    cph = CoxPHFitter().fit(data, duration, event, strata=["_period"])
    s = cph.summary
    table = pd.DataFrame({
        "coef": s["coef"], "se": s["se(coef)"], "hazard_ratio": s["exp(coef)"],
        "hr_ci_low": s["exp(coef) lower 95%"], "hr_ci_high": s["exp(coef) upper 95%"], "p_value": s["p"],
    })
    table.index.name = "term"
    return CoxResult(table=table, concordance=float(cph.concordance_index_), n=int((split["_entry"] == 0).sum()),
                     events=int(split[event].sum()), penalizer=0.0, reference_levels=reference_levels,
                     notes=["episode-split fit (step time interaction), stratified by episode"], fitter=cph, data=data)


# --------------------------------------------------------------------------------------------------------------
# One proportional-hazards verdict per term from both checks
# --------------------------------------------------------------------------------------------------------------

#: The verdicts of `ph_verdicts`, in the words the reports use.
PH_CONSTANT = "constant over the lifetime"
PH_CHANGES = "changes with tenure: read its ratios by tenure"
PH_STALE = "fades after the landmark because the driver was measured once (stale covariate), not a PH violation"
PH_UNTESTED = "not tested"

#: The rule behind the verdicts, in words (the notebook states it, the results file records it).
PH_VERDICT_RULE = (
    "Both checks' p-values are Holm-adjusted together as one family. A term changes with tenure when the tenure "
    "check flags it. When only the landmark check flags it, it fades after the landmark because it was measured "
    "once (a stale covariate, not a violation) if it was measured once at the landmark and its hazard ratio after "
    "the cut is closer to 1 than before; otherwise it changes with tenure. A term neither check flags is constant "
    "over the lifetime."
)


def ph_verdicts(tests: pd.DataFrame, measured_once: Sequence[str] = (), alpha: float = 0.05) -> pd.DataFrame:
    """Holm-adjust both proportional-hazards checks' p-values as one family and give each term its verdict.

    The tenure check (person-month model, every driver as it stood each month) tests the lifetime hazard ratio
    directly. The landmark check tests the hazard ratio of drivers measured once at the landmark; a driver whose
    value moves with follow-up (a trailing-window count, tenure) goes stale, so its hazard ratio fades after the
    landmark even when the hazard is proportional in the current value (`PH_VERDICT_RULE` says how the two are
    weighed). Adjusting both checks together keeps the chance of any "changes" verdict at most `alpha` when
    every hazard is proportional.

    Parameters
    ----------
    tests : one row per term (index) with `p_landmark` (scaled-Schoenfeld p-value) and `p_tenure`
        (likelihood-ratio p-value of the tenure interaction), NaN where a check did not test the term, and
        `hr_before`, `hr_after`: the landmark hazard ratio before and after the cut (NaN where not split).
    measured_once : terms measured once at the landmark whose true value moves with follow-up.
    alpha : family-wise error rate over both checks.

    Returns
    -------
    `tests` with p_landmark_holm, p_tenure_holm, measured_once, fades (the ratio after the cut is closer to 1)
    and verdict (`PH_CONSTANT`, `PH_CHANGES`, `PH_STALE` or `PH_UNTESTED`).

    References
    ----------
    Holm (1979), Scand. J. Stat. 6:65-70; van Houwelingen (2007), Scand. J. Stat. 34:70-85 (dynamic prediction by
    landmarking: covariates fixed at the landmark, their effects allowed to vary with the time since it).
    """
    out = tests.copy()
    family = pd.concat({"landmark": out["p_landmark"], "tenure": out["p_tenure"]})
    adjusted = pd.Series(holm_adjusted(family), index=family.index)
    out["p_landmark_holm"] = adjusted["landmark"].to_numpy()
    out["p_tenure_holm"] = adjusted["tenure"].to_numpy()
    out["measured_once"] = out.index.isin(list(measured_once))
    with np.errstate(invalid="ignore"):  # a missing split compares False: not shown to fade
        out["fades"] = np.abs(np.log(out["hr_after"])) < np.abs(np.log(out["hr_before"]))
    out["verdict"] = [_ph_verdict(r.p_landmark_holm, r.p_tenure_holm, r.measured_once, r.fades, alpha)
                      for r in out.itertuples()]
    return out


def _ph_verdict(p_landmark: float, p_tenure: float, measured_once: bool, fades: bool, alpha: float) -> str:
    """One term's verdict from its Holm-adjusted p-values (NaN = not tested), by `PH_VERDICT_RULE`."""
    if p_tenure < alpha:
        return PH_CHANGES
    if p_landmark < alpha:
        return PH_STALE if measured_once and fades else PH_CHANGES
    if np.isnan(p_landmark) and np.isnan(p_tenure):
        return PH_UNTESTED
    return PH_CONSTANT


@dataclass
class PHVerdict:
    """One proportional-hazards verdict per term, weighing the landmark Schoenfeld check and the tenure check, with
    family-wise error `alpha` over both (`ph_verdicts`)."""

    table: pd.DataFrame  # `ph_verdicts` output, plus hr_at_<a>, hr_at_<b>: tenure-check hazard ratios
    alpha: float
    cut_months: float | None  # the landmark check's split (months after the landmark); None without that check
    tenures: tuple[int, int] | None  # tenures (months) of the tenure check's hazard ratios; None without it
    labels: dict[str, str] = field(default_factory=dict)  # term -> words for sentences

    @property
    def n_tests(self) -> int:
        """How many p-values the Holm adjustment covers (both checks)."""
        return int(self.table[["p_landmark", "p_tenure"]].notna().sum().sum())

    def terms_with(self, verdict: str) -> list[str]:
        """Terms given `verdict`."""
        return list(self.table.index[self.table["verdict"] == verdict])

    @property
    def changes(self) -> list[str]:
        """Terms whose hazard ratio changes over the lifetime (the proportional-hazards flags)."""
        return self.terms_with(PH_CHANGES)

    def summary(self) -> pd.DataFrame:
        """Per term: both checks' p-values, raw and Holm-adjusted over both, the landmark hazard ratio before and
        after the cut, the tenure check's hazard ratio at two tenures, and the verdict."""
        hr_at = [c for c in self.table.columns if c.startswith("hr_at_")]
        return self.table[["p_landmark", "p_landmark_holm", "p_tenure", "p_tenure_holm", "hr_before", "hr_after",
                           *hr_at, "verdict"]].copy()

    def sentences(self) -> list[str]:
        """The verdicts in plain words: one sentence per term whose ratio changes (or one saying none does), and
        one naming the terms that only fade after the landmark."""
        checks = " and ".join(c for c, ran in (("landmark", self.cut_months is not None),
                                                ("tenure", self.tenures is not None)) if ran)
        family = (f"{self.n_tests} tests of the {checks} check{'s' if ' and ' in checks else ''} Holm-adjusted "
                  f"together, family-wise {self.alpha:.0%}")
        out = [self._changes_sentence(t) for t in self.changes]
        if not out:
            tested = len(self.table) - len(self.terms_with(PH_UNTESTED))
            out.append(f"No hazard ratio changes over the lifetime: none of {tested} terms is flagged as a "
                       f"proportional-hazards violation ({family}), so each can be read as constant.")
        stale = self.terms_with(PH_STALE)
        if stale:
            verb, subject = ("fades", "it was") if len(stale) == 1 else ("fade", "they were")
            out.append(f"{_capital(_join_words([self._name(t) for t in stale]))} {verb} after the landmark only "
                       f"because {subject} measured once there and the measurement goes stale with follow-up (a "
                       "stale covariate, not a proportional-hazards violation).")
        return out

    def to_dict(self) -> dict:
        """The rule, its family-wise level and how many terms got each verdict (for the results file)."""
        return {"alpha": self.alpha, "multiple_testing": "holm over both checks", "n_tests": self.n_tests,
                "rule": PH_VERDICT_RULE, "verdicts": self.table["verdict"].value_counts().to_dict()}

    def _changes_sentence(self, term: str) -> str:
        """A changing term's sentence: the check that flags it and its hazard ratios by tenure or by period."""
        r = self.table.loc[term]
        name = _capital(self._name(term))
        if r["p_tenure_holm"] < self.alpha:
            a, b = self.tenures
            return (f"{name}: its hazard ratio changes with tenure (Holm-adjusted p = {r['p_tenure_holm']:.2g}, "
                    f"person-month check): {r[f'hr_at_{a}']:.2f} at {a} months of tenure, {r[f'hr_at_{b}']:.2f} at "
                    f"{b}; read its ratios by tenure, not one ratio for the whole lifetime.")
        split = (f": {r['hr_before']:.2f} in the first {self.cut_months:g} months after the landmark, "
                 f"{r['hr_after']:.2f} later" if np.isfinite(r["hr_before"]) else "")
        return (f"{name}: its hazard ratio changes over time (Holm-adjusted p = {r['p_landmark_holm']:.2g}, "
                f"landmark check){split}; read its ratios by period, not one ratio for the whole lifetime.")

    def _name(self, term: str) -> str:
        """A term in words: its label, or 'column level' for a categorical level."""
        return self.labels.get(term, term.replace("=", " "))


def combine_ph_checks(
    landmark: PHCheck | None,
    tenure: TenurePHCheck | None,
    measured_once: Sequence[str] = (),
    alpha: float = 0.05,
    labels: dict[str, str] | None = None,
) -> PHVerdict | None:
    """One proportional-hazards verdict per term from the landmark check (`check_proportional_hazards`) and the
    tenure check (`timevarying.check_tenure_proportional_hazards`), either of which may be missing (`ph_verdicts`
    gives the rule); None when neither ran. `measured_once`: the landmark model's terms measured once at the
    landmark whose true value moves with follow-up."""
    if landmark is None and tenure is None:
        return None
    columns = {}
    if tenure is not None:
        columns["p_tenure"] = tenure.tests["p_value"]
        columns.update({f"hr_at_{t}": tenure.tests[f"hr_at_{t}"] for t in tenure.tenures})
    if landmark is not None:
        checked = landmark.summary()
        columns["p_landmark"] = checked["p_value"]
        for phase in ("before", "after"):
            columns[f"hr_{phase}"] = checked.get(f"hazard_ratio_{phase}", pd.Series(np.nan, index=checked.index))
    # the lifetime model's terms first, then the landmark model's own (tenure at the landmark)
    terms = list(dict.fromkeys([*(tenure.tests.index if tenure is not None else []),
                                *(landmark.tests.index if landmark is not None else [])]))
    hr_at = [c for c in columns if c.startswith("hr_at_")]
    tests = pd.DataFrame({c: v.reindex(terms) for c, v in columns.items()}, index=terms).reindex(
        columns=["p_landmark", "p_tenure", "hr_before", "hr_after", *hr_at])
    tests.index.name = "term"
    return PHVerdict(
        table=ph_verdicts(tests.astype(float), measured_once, alpha), alpha=alpha,
        cut_months=landmark.cut_months if landmark is not None else None,
        tenures=tuple(tenure.tenures) if tenure is not None else None, labels=dict(labels or {}),
    )


def _join_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _capital(text: str) -> str:
    """`text` with its first letter upper-case (the rest untouched)."""
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------------------------------------------
# Landmark cohorts for score-based groups
# --------------------------------------------------------------------------------------------------------------

def landmark_cohort(data: CXData, landmark: str | pd.Timestamp, window_months: int = 3) -> pd.DataFrame:
    """Customers active at `landmark`, grouped by what was known before it, followed from it (months).

    Groups by a score someone only has once they answered a survey, compared over their whole lifetime, suffer
    immortal-time bias: a customer must survive long enough to answer, so the answerers look longer-lived whatever
    they answered (Anderson, Cain & Gelber 1983, J Clin Oncol 1:710-719; Dafni 2011, Circ Cardiovasc Qual
    Outcomes 4:363-371). The landmark method fixes each group at a date and counts survival only from it.

    Returns
    -------
    The `features.snapshot` at `landmark` for active customers, plus `residual_months` (follow-up after the
    landmark), `nps_group` (latest NPS before it), `effort_band` (latest CES before it), `unresolved_contact`
    ("yes" if an unresolved reactive contact in the `window_months` before it); missing scores are `NO_SCORE`.
    """
    from cxresearch.features.snapshot import snapshot

    landmark = pd.Timestamp(landmark)
    observed_from = data.metadata.get("observed_from")
    if observed_from and landmark < pd.Timestamp(observed_from):
        raise ValueError(f"landmark {landmark.date()} is before observation began ({observed_from}): customers who "
                         "left before then are not in the data")
    snap = snapshot(data, as_of=landmark, window_months=window_months, horizon_months=0)
    out = snap[snap["active"]].copy()
    out["residual_months"] = (out["duration_months"] - out["tenure_months"]).clip(lower=0.0)
    out["nps_group"] = band_scores(out["nps_last"], NPS_GROUPS)
    out["effort_band"] = band_scores(out["ces_last"], EFFORT_BANDS)
    out["unresolved_contact"] = np.where(out["unresolved_90d"] > 0, "yes", "no")
    out.attrs.update(snap.attrs, landmark=landmark.isoformat())
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------
# One comparison of groups, start to finish
# --------------------------------------------------------------------------------------------------------------


@dataclass
class GroupComparison:
    """Everything the report shows for one grouping: KM curves, global and pairwise log-rank, RMST and its
    differences (months within `horizon_months`)."""

    group: str
    km: KMResult
    logrank: LogRankResult
    pairwise: pd.DataFrame
    rmst: pd.DataFrame
    rmst_difference: pd.DataFrame | None
    horizon_months: float

    def summary(self) -> pd.DataFrame:
        """Per group: n, churn events, median lifetime (95% CI), RMST (95% CI), months."""
        out = self.km.medians.set_index("group")
        r = self.rmst.set_index("group")
        out[f"rmst_{self.horizon_months:g}m"] = r["rmst"]
        out["rmst_ci_low"], out["rmst_ci_high"] = r["ci_low"], r["ci_high"]
        return out

    def sentence(self) -> str:
        """The largest RMST difference in words, e.g. 'promoter stay 0.8 months longer than detractor over 12'."""
        if self.rmst_difference is None or self.rmst_difference.empty:
            return f"Lifetimes by {self.group}: log-rank {format_p(self.logrank.p_value)}."
        top = self.rmst_difference.loc[self.rmst_difference["difference"].abs().idxmax()]
        longer = "longer" if top["difference"] >= 0 else "shorter"
        return (
            f"By {self.group.replace('_', ' ')}: {top['group']} stay {abs(top['difference']):.1f} months {longer} than "
            f"{top['reference']} within the first {self.horizon_months:g} months (difference 95% CI "
            f"{top['ci_low']:.1f} to {top['ci_high']:.1f}; global log-rank {format_p(self.logrank.p_value)})."
        )

    def notes(self) -> list[str]:
        """Data-hygiene notes of the underlying estimates."""
        return [*self.km.notes, *self.rmst.attrs.get("notes", [])]


def compare_groups(
    df: pd.DataFrame,
    group: str,
    horizon_months: float,
    duration: str = "duration_months",
    event: str = "event",
    entry: str | None = None,
    min_group_size: int = 30,
    at_risk_step: float = 6.0,
    reference: str | None = None,
) -> GroupComparison:
    """KM by `group`, log-rank (global and pairwise, Holm-adjusted), RMST per group and vs `reference` (months)."""
    km = kaplan_meier(df, group, duration, event, min_group_size, at_risk_step, entry)
    table = rmst(km, horizon_months)
    known = table["rmst"].notna().sum()
    return GroupComparison(
        group=group,
        km=km,
        logrank=logrank(df, group, duration, event, min_group_size, entry),
        pairwise=pairwise_logrank(df, group, duration, event, min_group_size, entry),
        rmst=table,
        rmst_difference=rmst_difference(km, horizon_months, reference=reference) if known >= 2 else None,
        horizon_months=float(horizon_months),
    )


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------


def split_groups(
    df: pd.DataFrame,
    group: str | None,
    duration: str,
    event: str,
    min_group_size: int,
    entry: str | None = None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Validate duration/event (and entry) columns and split into groups of at least `min_group_size` customers.

    The returned frames keep `duration`, `event` and, if given, the `entry` column (float months).
    """
    extra = [entry] if entry else []
    for col in (duration, event) + ((group,) if group else ()) + tuple(extra):
        if col not in df.columns:
            raise KeyError(f"column {col!r} not in data")
    notes: list[str] = []
    data = df[[duration, event] + extra + ([group] if group else [])].copy()
    bad = data[duration].isna() | data[event].isna() | (data[duration] < 0)
    if bad.any():
        notes.append(f"dropped {int(bad.sum())} customers with missing or negative duration/event")
        data = data[~bad]
    if entry:
        data[entry] = data[entry].astype(float)
        # entry > 0 and entry == duration: no time at risk under the counting-process convention (R rejects it too)
        bad = (
            data[entry].isna()
            | (data[entry] < 0)
            | (data[entry] > data[duration])
            | ((data[entry] > 0) & (data[entry] >= data[duration]))
        )
        if bad.any():
            notes.append(
                f"dropped {int(bad.sum())} customers with missing or negative entry, or no follow-up after entry "
                "(entry after or at duration)"
            )
            data = data[~bad]
    data[event] = data[event].astype(bool)
    if group is None:
        if data.empty:
            raise ValueError("no customers with a valid duration")
        return {ALL: data}, notes
    if data[group].isna().any():
        notes.append(f"dropped {int(data[group].isna().sum())} customers with missing {group!r}")
        data = data[data[group].notna()]
    sizes = data[group].astype(str).value_counts()
    small = sizes[sizes < min_group_size]
    if len(small):
        notes.append(
            f"dropped {group} levels with fewer than {min_group_size} customers: "
            + ", ".join(f"{k} (n={v})" for k, v in small.items())
        )
    keep = sorted(sizes[sizes >= min_group_size].index)
    if not keep:
        raise ValueError(f"no level of {group!r} has at least {min_group_size} customers")
    labels = data[group].astype(str)
    return {k: data[labels == k].drop(columns=group) for k in keep}, notes


def _at_risk_counts(
    duration: np.ndarray, entry: np.ndarray, at: np.ndarray, first: float | None = None
) -> np.ndarray:
    """Customers at risk at each time in `at` under left truncation: #{i: entry_i < x <= duration_i}, except that
    customers entering at the earliest entry time `first` (default min(entry); usually 0) are at risk from it on.

    This is lifelines' KaplanMeierFitter risk set (it adds entrants after the deaths at their entry time, except
    in the first period); with all entries 0 it is #{duration_i >= x}.
    """
    d, a = np.sort(duration), np.sort(entry)
    first = float(a[0]) if first is None else first
    at = np.asarray(at, dtype=float)
    entered = np.where(at <= first, np.searchsorted(a, at, side="right"), np.searchsorted(a, at, side="left"))
    return entered - np.searchsorted(d, at, side="left")


def _step_at(step: pd.Series, t: float) -> float:
    """Value of a right-continuous step function (index = jump times) at time t."""
    i = int(np.searchsorted(step.index.to_numpy(float), t, side="right")) - 1
    return float(step.iloc[max(i, 0)])


def _none_if_nan(x: float) -> float | None:
    """None for NaN so the Estimate reads 'no interval' rather than 'nan'."""
    return None if x is None or not np.isfinite(x) else float(x)
