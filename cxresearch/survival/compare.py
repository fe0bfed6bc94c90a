"""Comparing lifetimes between groups: global and pairwise log-rank tests and the whole comparison of one
grouping (Kaplan-Meier, log-rank, RMST and its differences; months)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines.statistics import multivariate_logrank_test

from cxresearch.stats.estimate import format_p
from cxresearch.stats.tables import TableSummary
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns
from cxresearch.survival.display import summary_html
from cxresearch.survival.groups import at_risk_counts, split_groups
from cxresearch.survival.kaplan_meier import (
    KMResult,
    RMSTDifference,
    RMSTTable,
    kaplan_meier,
    rmst,
    rmst_difference,
)


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

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), "Log-rank test", self.notes)


@dataclass
class PairwiseLogRank(TableSummary):
    """Log-rank tests of every pair of groups, p-values adjusted for multiplicity by `method`.

    `table` (`summary()`), per pair: chi-square statistic, p-value and adjusted p-value.
    """

    table: pd.DataFrame  # group_a, group_b, statistic (chi-square, 1 df), p_value, p_adjusted, method
    method: str

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"Pairwise log-rank tests ({self.method}-adjusted)", digits=4)


def logrank(
    df: pd.DataFrame,
    group: str,
    columns: LifetimeColumns = LIFETIMES,
    min_group_size: int = 30,
) -> LogRankResult:
    """Multivariate log-rank test across the levels of `group` (small levels dropped as in `kaplan_meier`).

    With `entry` (left-truncation times, months) and any entry > 0 the test is computed here, since lifelines'
    log-rank has no delayed entry: risk sets R(t) = {i: entry_i < t <= duration_i} (the same convention as
    `kaplan_meier`, see `at_risk_counts`), then the standard statistic (see `_logrank_statistic`).

    Parameters
    ----------
    df : one row per customer with `duration` (months) and `event`.
    group : column whose levels are compared.
    columns : which columns hold the lifetime (`LifetimeColumns`: duration, event, entry); with an `entry`
        column, risk sets start at entry (left truncation).

    Returns
    -------
    LogRankResult
        Chi-square statistic on k - 1 degrees of freedom and its p-value.

    References
    ----------
    Mantel (1966), Cancer Chemother Rep 50:163-170; Peto & Peto (1972), JRSS-A 135:185-207.
    """
    groups, notes = split_groups(df, group, columns, min_group_size)
    if len(groups) < 2:
        raise ValueError(f"log-rank test needs at least two groups of >= {min_group_size} customers in {group!r}")
    data = pd.concat(groups.values(), keys=groups.keys(), names=["_group", None]).reset_index(level="_group")
    if columns.entry and (data[columns.entry] > 0).any():
        stat, p_value = _logrank_statistic(
            data[columns.duration].to_numpy(float),
            data[columns.event].to_numpy(bool),
            data["_group"].to_numpy(),
            data[columns.entry].to_numpy(float),
        )
        notes.append("log-rank with left-truncation risk sets (entry < t <= duration)")
    else:
        res = multivariate_logrank_test(data[columns.duration], data["_group"], data[columns.event])
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

    At each distinct churn time t_j: n_gj = #{i in g: entry_i < t_j <= t_i} (`at_risk_counts` over all groups'
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
        n[:, g] = at_risk_counts(t[mask], entry[mask], times, first)
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


def pairwise_logrank(
    df: pd.DataFrame,
    group: str,
    columns: LifetimeColumns = LIFETIMES,
    min_group_size: int = 30,
    method: str = "holm",
) -> PairwiseLogRank:
    """Log-rank test for every pair of levels of `group`, p-values adjusted for multiplicity (Holm 1979 by
    default; any `statsmodels.stats.multitest.multipletests` method). Delayed entry as in `logrank`.

    Parameters
    ----------
    df : one row per customer with `duration` (months) and `event`.
    group : column whose levels are compared; levels with fewer than `min_group_size` customers are dropped.
    columns : which columns hold the lifetime (`LifetimeColumns`: duration, event, entry); with an `entry`
        column, risk sets start at entry (left truncation).
    method : multiplicity correction.

    Returns
    -------
    PairwiseLogRank
        Per pair: group_a, group_b, statistic (chi-square, 1 df), p_value, p_adjusted, method.

    References
    ----------
    Mantel (1966), Cancer Chemother Rep 50:163-170; Holm (1979), Scand. J. Stat. 6:65-70.
    """
    from itertools import combinations

    from statsmodels.stats.multitest import multipletests

    groups, _ = split_groups(df, group, columns, min_group_size)
    if len(groups) < 2:
        raise ValueError(f"pairwise log-rank needs at least two groups of >= {min_group_size} customers in {group!r}")
    rows = []
    for a, b in combinations(groups, 2):
        pair = pd.concat([groups[a], groups[b]])
        labels = np.repeat([a, b], [len(groups[a]), len(groups[b])])
        stat, p_value = _logrank_statistic(
            pair[columns.duration].to_numpy(float), pair[columns.event].to_numpy(bool), labels,
            pair[columns.entry].to_numpy(float) if columns.entry else None,
        )
        rows.append({"group_a": a, "group_b": b, "statistic": stat, "p_value": p_value})
    out = pd.DataFrame(rows)
    out["p_adjusted"] = multipletests(out["p_value"], method=method)[1]
    out["method"] = method
    return PairwiseLogRank(table=out, method=method)


@dataclass
class GroupComparison:
    """Everything the report shows for one grouping: KM curves, global and pairwise log-rank, RMST and its
    differences (months within `horizon_months`)."""

    group: str
    km: KMResult
    logrank: LogRankResult
    pairwise: PairwiseLogRank
    rmst: RMSTTable
    rmst_difference: RMSTDifference | None
    horizon_months: float

    def summary(self) -> pd.DataFrame:
        """Per group: n, churn events, median lifetime (95% CI), RMST (95% CI), months."""
        out = self.km.medians.set_index("group")
        r = self.rmst.table.set_index("group")
        out[f"rmst_{self.horizon_months:g}m"] = r["rmst"]
        out["rmst_ci_low"], out["rmst_ci_high"] = r["ci_low"], r["ci_high"]
        return out

    def sentence(self) -> str:
        """The largest RMST difference in words, e.g. 'promoter stay 0.8 months longer than detractor over 12'."""
        if self.rmst_difference is None or self.rmst_difference.table.empty:
            return f"Lifetimes by {self.group}: log-rank {format_p(self.logrank.p_value)}."
        diff = self.rmst_difference.table
        top = diff.loc[diff["difference"].abs().idxmax()]
        longer = "longer" if top["difference"] >= 0 else "shorter"
        return (
            f"By {self.group.replace('_', ' ')}: {top['group']} stay {abs(top['difference']):.1f} months {longer} than "
            f"{top['reference']} within the first {self.horizon_months:g} months (difference 95% CI "
            f"{top['ci_low']:.1f} to {top['ci_high']:.1f}; global log-rank {format_p(self.logrank.p_value)})."
        )

    def notes(self) -> list[str]:
        """Data-hygiene notes of the underlying estimates."""
        return [*self.km.notes, *self.rmst.notes]

    def _repr_html_(self) -> str:
        return (summary_html(self.summary(), f"Lifetimes by {self.group}", digits=2)
                + self.pairwise._repr_html_() + f"<p>{html.escape(self.sentence())}</p>")


def compare_groups(
    df: pd.DataFrame,
    group: str,
    horizon_months: float,
    columns: LifetimeColumns = LIFETIMES,
    min_group_size: int = 30,
    at_risk_step: float = 6.0,
    reference: str | None = None,
) -> GroupComparison:
    """KM by `group`, log-rank (global and pairwise, Holm-adjusted), RMST per group and vs `reference` (months).

    Parameters
    ----------
    df : one row per customer with `duration` (months, right-censored) and `event` (churn observed).
    group : column whose levels are compared; levels with fewer than `min_group_size` customers are dropped.
    horizon_months : horizon of the restricted means (months).
    columns : which columns hold the lifetime (`LifetimeColumns`: duration, event, entry); with an `entry`
        column, risk sets start at entry (left truncation).
    at_risk_step : spacing of the at-risk table (months).
    reference : group the restricted-mean differences are taken against (default: the shortest-lived).

    Returns
    -------
    GroupComparison
        Curves, tests, restricted means and their differences (None with fewer than two restricted means).
    """
    km = kaplan_meier(df, group, columns, min_group_size, at_risk_step)
    table = rmst(km, horizon_months)
    known = table.table["rmst"].notna().sum()
    return GroupComparison(
        group=group,
        km=km,
        logrank=logrank(df, group, columns, min_group_size),
        pairwise=pairwise_logrank(df, group, columns, min_group_size),
        rmst=table,
        rmst_difference=rmst_difference(km, horizon_months, reference=reference) if known >= 2 else None,
        horizon_months=float(horizon_months),
    )


