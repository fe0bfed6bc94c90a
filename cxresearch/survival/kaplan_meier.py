"""Kaplan-Meier curves and restricted mean survival time (months from signup; `event` marks an observed churn,
everything else is right-censored). Estimators are lifelines' (Davidson-Pilon 2019, JOSS 4(40):1317)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times, restricted_mean_survival_time

from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95
from cxresearch.stats.tables import TableSummary
from cxresearch.stats.units import DAYS_PER_MONTH
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns
from cxresearch.survival.display import summary_html
from cxresearch.survival.groups import at_risk_counts, split_groups


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

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), "Kaplan-Meier" + (f" by {self.group}" if self.group else ""), self.notes)

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
    columns: LifetimeColumns = LIFETIMES,
    min_group_size: int = 30,
    at_risk_step: float = 6.0,
) -> KMResult:
    """Kaplan-Meier survival (fraction still active vs months) per level of `group`, with at-risk table.

    Parameters
    ----------
    df : one row per customer with `duration` (months, right-censored) and `event` (churn observed).
    group : optional column; levels with fewer than `min_group_size` customers are dropped with a note.
    at_risk_step : spacing in months of the at-risk table (0, step, 2*step, ... up to the last follow-up).
    columns : which columns hold the lifetime (`LifetimeColumns`). Its `entry`, months since signup of the start
        of observation (0 = observed from signup), gives left truncation (delayed entry): a customer who signed
        up before observation began is in the data only because they survived to their entry time; without it
        early survival is overstated (immortal time). Rows with missing or negative entry, or no follow-up after
        entry (entry > 0 and entry >= duration), are dropped with a note.

    Returns
    -------
    KMResult. The at-risk table follows survminer: `at_risk` at time t counts customers with duration >= t;
    `events` and `censored` count those with duration <= t (cumulative). With `entry`, a customer is at risk at t
    only if entry < t <= duration (counting-process convention, as lifelines' KM estimator: one entering at t is
    at risk just after t; customers entering at the earliest entry time, usually 0, are at risk from it on, so
    at t = 0 the table counts those with entry 0). The same risk sets are used by the estimator, the RMST SE,
    the log-rank and the CLV bootstrap (`at_risk_counts`). With `entry` the risk set can be small at early
    times; the curve there rests on few customers.

    References
    ----------
    Kaplan & Meier (1958), JASA 53:457-481. Median CI: Brookmeyer & Crowley (1982), Biometrics 38:29-41, taken as
    the times where the 95% band crosses 0.5 (lifelines `median_survival_times` of the confidence interval).
    """
    groups, notes = split_groups(df, group, columns, min_group_size)
    fitters: dict[str, KaplanMeierFitter] = {}
    curves, tables, medians = [], [], []
    for name, sub in groups.items():
        enter = sub[columns.entry] if columns.entry else None
        kmf = KaplanMeierFitter(label=name).fit(sub[columns.duration], sub[columns.event], entry=enter, label=name)
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
                sub[columns.duration].to_numpy(float),
                sub[columns.event].to_numpy(bool),
                at_risk_step,
                None if enter is None else enter.to_numpy(float),
            )
        )
        medians.append(_median_row(name, kmf, len(sub), int(sub[columns.event].sum())))
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
    """Survminer-style counts at 0, step, 2*step, ...: at risk (see `at_risk_counts`), cumulative events and
    censored."""
    times = np.arange(0.0, np.ceil(t.max() / step) * step + step / 2, step)
    entry = np.zeros_like(t) if entry is None else entry
    return pd.DataFrame(
        {
            "group": name,
            "time": times,
            "at_risk": at_risk_counts(t, entry, times).astype(int),
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


@dataclass
class RMSTTable(TableSummary):
    """Restricted mean survival time per group: expected months active within the first `horizon_months`.

    `table` (`summary()`), per group: RMST, its standard error and 95% CI, the horizon (months).
    """

    table: pd.DataFrame  # group, rmst, se, ci_low, ci_high, horizon (months); NaN where not identified
    horizon_months: float
    notes: list[str] = field(default_factory=list)  # data hygiene and horizons beyond a group's follow-up

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"Restricted mean lifetime within {self.horizon_months:g} months",
                            self.notes)


@dataclass
class RMSTDifference(TableSummary):
    """Differences in restricted mean lifetime of each group vs `reference` (months within `horizon_months`).

    `table` (`summary()`), per group: difference from the reference (months) with SE, 95% CI and two-sided p-value.
    """

    table: pd.DataFrame  # group, reference, difference, se, ci_low, ci_high (months), p_value, horizon
    reference: str
    horizon_months: float
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"Restricted mean lifetime vs {self.reference}, within "
                            f"{self.horizon_months:g} months", self.notes)


def rmst(
    data: KMResult | pd.DataFrame,
    horizon_months: float,
    group: str | None = None,
    columns: LifetimeColumns = LIFETIMES,
    min_group_size: int = 30,
) -> RMSTTable:
    """Restricted mean survival time: expected months active within the first `horizon_months`, per group.

    RMST(tau) = integral_0^tau S(u) du (lifelines `restricted_mean_survival_time`). Its standard error is the
    Greenwood-type estimator Var = sum_{t_j <= tau} A_j^2 d_j / (n_j (n_j - d_j)), A_j = integral_{t_j}^tau S(u) du
    (Klein & Moeschberger 2003, eq. 4.5.1; as in R survRM2). lifelines' `return_variance=True` is not used for the
    CI: it returns Var(min(T, tau)), the spread of customers' restricted lifetimes, not the estimator's variance.
    Where tau exceeds a group's follow-up and its curve has not reached zero, RMST is not identified: NaN and a
    note (in `notes`).

    `columns.entry` (left-truncation times, months; used only when `data` is a DataFrame) is passed on;
    the SE then uses the truncation-aware risk sets n_j = #{entry < t_j <= duration} of the KM (lifelines' event
    table less those entering at t_j).

    Parameters
    ----------
    data : a `kaplan_meier` result, or one row per customer (then `group`, `columns` and `min_group_size` are
        passed to `kaplan_meier`).
    horizon_months : tau, the horizon of the restricted mean (months).

    Returns
    -------
    RMSTTable
        Per group: rmst, se, ci_low, ci_high, horizon (all in months).

    References
    ----------
    Royston & Parmar (2013), BMC Med Res Methodol 13:152; Klein & Moeschberger (2003), eq. 4.5.1.
    """
    km = (
        data
        if isinstance(data, KMResult)
        else kaplan_meier(data, group, columns, min_group_size)
    )
    notes = list(km.notes)
    rows = []
    for name, kmf in km.fitters.items():
        sf = kmf.survival_function_.iloc[:, 0]
        # months are days / 30.4375, so "12 calendar months" of follow-up can read 11.99: allow a day's slack
        if horizon_months > float(kmf.durations.max()) + 1 / DAYS_PER_MONTH and sf.iloc[-1] > 0:
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
    return RMSTTable(table=out[["group", "rmst", "se", "ci_low", "ci_high", "horizon"]],
                     horizon_months=float(horizon_months), notes=notes)


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
    columns: LifetimeColumns = LIFETIMES,
    min_group_size: int = 30,
) -> RMSTDifference:
    """Difference in restricted mean lifetime (months within the first `horizon_months`) of each group vs
    `reference` (default: the group with the shortest RMST, so differences read "stays X months longer").

    The groups are independent samples, so Var(RMST_g - RMST_ref) = Var(RMST_g) + Var(RMST_ref), each the
    Greenwood-type variance of `rmst`; 95% CI and two-sided p-value from the normal approximation (Royston &
    Parmar 2013, BMC Med Res Methodol 13:152; R survRM2).

    Parameters
    ----------
    data, horizon_months, group, columns, min_group_size : as in `rmst`.
    reference : the group every other is compared with (default: the shortest-lived).

    Returns
    -------
    RMSTDifference
        Per group: reference, difference, se, ci_low, ci_high (months), p_value, horizon.

    Raises
    ------
    ValueError
        When fewer than two groups have follow-up to the horizon.
    """
    per_group = rmst(data, horizon_months, group, columns, min_group_size)
    known = per_group.table.set_index("group").dropna(subset=["rmst"])
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
    return RMSTDifference(table=out, reference=reference, horizon_months=float(horizon_months),
                          notes=list(per_group.notes))


def _step_at(step: pd.Series, t: float) -> float:
    """Value of a right-continuous step function (index = jump times) at time t."""
    i = int(np.searchsorted(step.index.to_numpy(float), t, side="right")) - 1
    return float(step.iloc[max(i, 0)])


def _none_if_nan(x: float) -> float | None:
    """None for NaN so the Estimate reads 'no interval' rather than 'nan'."""
    return None if x is None or not np.isfinite(x) else float(x)
