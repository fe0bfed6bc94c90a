"""Gray's test: does the cumulative incidence of one churn reason differ between groups? (months)

The score compares, at each time a customer leaves for the reason, each group's observed departures with those
expected from the pooled subdistribution hazard among its "subdistribution risk set" (customers at risk,
inflated by 1/S for those who left for other reasons: R = n (1 - F)/S); the variance is Gray's (1988)
asymptotic one, and the statistic s' V^-1 s is chi-square with groups - 1 degrees of freedom. This is
`cmprsk::cuminc`'s "Tests" (one stratum). Gray's variance is derived for untruncated data; with left
truncation use the Fine-Gray model with the group as a covariate (`finegray.fine_gray(..., entry=...)` and
`FineGrayResult.wald_test`), which carries Geskus's (2011) truncation weights.

References: Gray, R. J. (1988). A class of K-sample tests for comparing the cumulative incidence of a competing
risk. Ann Stat 16:1141-1154.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cxresearch.survival.causes import lifetimes_by_cause
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns


@dataclass
class GrayTest:
    """Gray's test of equal cumulative incidence of `cause` across the levels of `group`."""

    cause: str
    group: str
    levels: list[str]
    statistic: float
    df: int
    p_value: float
    n: int
    events: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row: cause, group column, levels compared, chi-square statistic, df and p-value."""
        return pd.DataFrame([{"cause": self.cause, "group": self.group, "levels": ", ".join(self.levels),
                              "statistic": self.statistic, "df": self.df, "p": self.p_value, "n": self.n}])

    def _repr_html_(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in self.events.items())
        head = (f"<p><b>Gray's test: churn for {self.cause} by {self.group}</b> (departures for {self.cause}: "
                f"{counts})</p>")
        return head + self.summary().to_html(index=False) + "".join(f"<p>{n}</p>" for n in self.notes)


def gray_test(
    df: pd.DataFrame,
    of_interest: str,
    group: str,
    columns: LifetimeColumns = LIFETIMES,
    rho: float = 0.0,
) -> GrayTest:
    """Gray's K-sample test of equal cumulative incidence of `of_interest` across the levels of `group`.

    Parameters
    ----------
    df : one row per customer.
    of_interest : the reason compared, e.g. "service".
    group : column whose levels are compared (missing levels dropped).
    columns : as in `causes.lifetimes_by_cause`; other reasons compete, a missing reason is censored. An `entry`
        column is accepted only when nobody enters after signup (see the module note).
    rho : weight power, (1 - F(t-))^rho; 0 (the default, as `cmprsk::cuminc`) weights all times alike.

    Returns
    -------
    GrayTest
        Chi-square statistic with groups - 1 df and its p-value.

    Raises
    ------
    ValueError
        With left truncation, with fewer than two groups, or when nobody left for `of_interest`.

    References
    ----------
    Gray, R. J. (1988). A class of K-sample tests for comparing the cumulative incidence of a competing risk.
    Ann Stat 16:1141-1154.
    """
    frame, notes = lifetimes_by_cause(df, columns)
    if (frame["entry"] > 0).any():
        raise ValueError("Gray's test is derived for untruncated data, and some customers enter after signup "
                         f"({columns.entry!r} > 0); fit finegray.fine_gray(..., covariates=[{group!r}], columns=...) "
                         "and use its wald_test over the group's terms instead")
    labels = df.loc[frame.index, group]
    frame = frame[labels.notna()].assign(group=labels[labels.notna()].astype(str))
    levels = sorted(frame["group"].unique())
    if len(levels) < 2:
        raise ValueError(f"Gray's test needs at least two levels of {group!r}; found {levels}")
    if not (frame["cause"] == of_interest).any():
        raise ValueError(f"no churn for {of_interest!r} in the data")
    status = np.where(frame["cause"].isna(), 0, np.where(frame["cause"] == of_interest, 1, 2))
    code = np.searchsorted(levels, frame["group"].to_numpy())
    score, variance = _score_and_variance(frame["duration"].to_numpy(), status, code, len(levels), rho)
    statistic = float(score @ np.linalg.solve(variance, score))
    events = {lv: int(((frame["group"] == lv) & (status == 1)).sum()) for lv in levels}
    return GrayTest(cause=of_interest, group=group, levels=levels, statistic=statistic, df=len(levels) - 1,
                    p_value=float(stats.chi2.sf(statistic, len(levels) - 1)), n=len(frame), events=events,
                    notes=notes)


@dataclass
class _State:
    """Running quantities per group just before the current time: at risk, Kaplan-Meier S(t-), F(t-)."""

    at_risk: np.ndarray
    surv: np.ndarray
    cif: np.ndarray
    pooled: float = 0.0


def _score_and_variance(
    time: np.ndarray, status: np.ndarray, code: np.ndarray, k: int, rho: float
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the first k-1 groups and their covariance (Gray 1988, sect. 2-3), one pass over the times."""
    state = _State(np.bincount(code, minlength=k).astype(float), np.ones(k), np.zeros(k))
    score, v = np.zeros(k - 1), np.zeros((k - 1, k - 1))
    c, v2, v3 = np.zeros((k, k)), np.zeros((k - 1, k)), np.zeros(k)
    for t in np.unique(time):
        here = time == t
        d = np.stack([np.bincount(code[here & (status == j)], minlength=k) for j in (0, 1, 2)]).astype(float)
        if d[1:].sum() > 0:
            score += _step(state, d, c, v, v2, v3, rho)
        state.at_risk -= d.sum(axis=0)
    v += c[:-1] @ np.diag(v3) @ c[:-1].T + c[:-1] @ v2.T + v2 @ c[:-1].T
    return score, v


def _step(state: _State, d: np.ndarray, c: np.ndarray, v: np.ndarray, v2: np.ndarray, v3: np.ndarray,
          rho: float) -> np.ndarray:
    """Score increment at one time with departures d (0 censored, 1 cause, 2 other x groups); updates c, v, v2,
    v3 and the state in place."""
    n, s_before, f_before = state.at_risk, state.surv, state.cif
    live = n > 0
    safe_n = np.where(live, n, 1.0)
    s_after = np.where(live, s_before * (n - d[1] - d[2]) / safe_n, s_before)
    f_after = np.where(live, f_before + s_before * d[1] / safe_n, f_before)
    h = np.where(live, n / s_before, 0.0)  # n / S(t-): the subdistribution risk set over 1 - F(t-)
    total_h, nd1 = h.sum(), d[1].sum()
    total_r = (h * (1 - f_before)).sum()
    pooled = state.pooled + nd1 / total_h
    weight = (1 - state.pooled) ** rho
    a = weight * (np.diag(h) - np.outer(h, h) / total_h)
    c += a * nd1 / (total_h * (1 - state.pooled))
    increment = weight * (d[1] - nd1 * h * (1 - f_before) / total_r)
    for j in np.flatnonzero(live):
        if nd1 > 0:
            t4 = 1 - (1 - pooled) / s_after[j] if s_after[j] > 0 else 1.0
            t5 = 1 - (nd1 - 1) / (total_h * s_before[j] - 1) if nd1 > 1 else 1.0
            _accumulate(j, t4, t5 * s_before[j] * nd1 / (total_h * n[j]), a[:-1, j] - t4 * c[:-1, j], v, v2, v3)
        if d[2, j] > 0 and s_after[j] > 0:
            t4 = (1 - pooled) / s_after[j]
            t5 = 1 - (d[2, j] - 1) / (n[j] - 1) if d[2, j] > 1 else 1.0
            _accumulate(j, t4, t5 * s_before[j] ** 2 * d[2, j] / n[j] ** 2, -t4 * c[:-1, j], v, v2, v3)
    state.surv, state.cif, state.pooled = s_after, f_after, pooled
    return increment[:-1]


def _accumulate(j: int, t4: float, t3: float, b: np.ndarray, v: np.ndarray, v2: np.ndarray,
                v3: np.ndarray) -> None:
    """Add one group's variance contributions at one time (Gray 1988, the terms of eq. 2.3)."""
    v3[j] += t4 * t4 * t3
    v2[:, j] += b * t4 * t3
    v += np.outer(b, b) * t3
