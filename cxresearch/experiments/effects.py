"""Average effects of each treatment arm against control: difference in means (Newcombe for proportions, Welch
for continuous outcomes) and relative lift (delta method on the log ratio), overall and by segment; and the
difference in restricted mean survival time (RMST) between arms for lifetimes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95, wilson_interval
from cxresearch.stats.tables import TableSummary

#: Segment label of the whole sample in effect tables.
ALL = "all"

METHODS = {
    "binary": "difference of proportions with Newcombe's hybrid score 95% CI; lift with the log-ratio (Katz) CI",
    "continuous": "difference of means with Welch's 95% CI; lift with the delta-method log-ratio CI",
}


@dataclass
class AverageEffects(TableSummary):
    """Average effect of each arm against control on one outcome, overall and by segment.

    `table` has one row per (segment, arm): n, mean, n_control, mean_control, difference with ci_low / ci_high
    (outcome units; percentage points are the difference x 100 for a binary outcome) and the relative lift
    (mean / mean_control - 1) with lift_low / lift_high.

    `table` (`summary()`): the effect table, one row per segment and arm.
    """

    outcome: str
    kind: str
    control: str
    table: pd.DataFrame

    @property
    def method(self) -> str:
        """How the intervals were computed, in words."""
        return METHODS[self.kind]

    def estimate(self, arm: str, segment: str = ALL) -> Estimate:
        """Difference in means of `arm` minus control (outcome units) in one segment, with its 95% CI."""
        row = self.table[(self.table["arm"] == arm) & (self.table["segment"] == segment)].iloc[0]
        return Estimate(
            float(row["difference"]), "", f"effect of {arm} vs {self.control} on {self.outcome}",
            float(row["ci_low"]), float(row["ci_high"]), n=int(row["n"] + row["n_control"]), note=self.method,
        )

    def _repr_html_(self) -> str:
        return f"<b>Average effect on {self.outcome}</b> ({self.method})" + self.table.to_html(index=False)


def is_binary(values: np.ndarray) -> bool:
    """Whether every value is 0 or 1."""
    return bool(np.isin(values, (0, 1)).all())


def newcombe_interval(x1: float, n1: int, x0: float, n0: int) -> tuple[float, float]:
    """Newcombe's hybrid score 95% interval for p1 - p0 (proportions x1/n1 and x0/n0), from Wilson intervals.

    Parameters
    ----------
    x1, n1 : float, int
        Successes and trials in the treated arm.
    x0, n0 : float, int
        Successes and trials in the control arm.

    Returns
    -------
    tuple of float
        (low, high): the 95% limits of p1 - p0, as proportions.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions: comparison
    of eleven methods. Statistics in Medicine 17, 873-890 (method 10).
    """
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(p1, n1)
    l0, u0 = wilson_interval(p0, n0)
    diff = p1 - p0
    return diff - float(np.hypot(p1 - l1, u0 - p0)), diff + float(np.hypot(u1 - p1, p0 - l0))


def welch_interval(y1: np.ndarray, y0: np.ndarray) -> tuple[float, float]:
    """Welch's 95% interval for mean(y1) - mean(y0), unequal variances, Welch-Satterthwaite degrees of freedom.

    Parameters
    ----------
    y1, y0 : numpy.ndarray
        Outcomes of the treated and the control arm.

    Returns
    -------
    tuple of float
        Lower and upper limits of mean(y1) - mean(y0), in the outcome's unit.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different population variances
    are involved. Biometrika 34, 28-35.
    """
    v1, v0 = y1.var(ddof=1) / len(y1), y0.var(ddof=1) / len(y0)
    se = np.sqrt(v1 + v0)
    # both arms constant: the difference is known exactly (and the Welch-Satterthwaite df is 0 / 0)
    half = 0.0
    if se > 0:
        df = (v1 + v0) ** 2 / (v1**2 / (len(y1) - 1) + v0**2 / (len(y0) - 1))
        half = float(stats.t.ppf(0.975, df) * se)
    diff = float(y1.mean() - y0.mean())
    return diff - half, diff + half


def lift_interval(y1: np.ndarray, y0: np.ndarray, binary: bool) -> tuple[float, float, float]:
    """Relative lift mean(y1) / mean(y0) - 1 and its 95% CI by the delta method on the log ratio of means.

    Parameters
    ----------
    y1, y0 : numpy.ndarray
        Outcomes of the treated and the control arm.
    binary : bool
        Whether the outcome is 0/1: the variance of a mean is then p(1 - p) / n (Katz's log interval for a
        risk ratio), otherwise s^2 / n.

    Returns
    -------
    tuple of float
        Lift, lower and upper limit (fractions: 0.1 is +10%); NaN when a mean is not positive.

    References
    ----------
    Katz, D., Baptista, J., Azen, S. P. and Pike, M. C. (1978). Obtaining confidence intervals for the risk ratio
    in cohort studies. Biometrics 34, 469-474.
    """
    log, se = log_ratio(y1, y0, binary)
    if np.isnan(log):
        return float("nan"), float("nan"), float("nan")
    return float(np.exp(log) - 1), float(np.exp(log - Z95 * se) - 1), float(np.exp(log + Z95 * se) - 1)


def log_ratio(y1: np.ndarray, y0: np.ndarray, binary: bool) -> tuple[float, float]:
    """Log of the ratio of means mean(y1) / mean(y0) and its delta-method standard error (for 0/1 outcomes the
    variance of a mean is p(1 - p) / n: Katz's risk ratio interval); (NaN, NaN) when a mean is not positive."""
    m1, m0 = float(y1.mean()), float(y0.mean())
    if m1 <= 0 or m0 <= 0:
        return float("nan"), float("nan")
    ddof = 0 if binary else 1
    return float(np.log(m1 / m0)), float(np.sqrt(y1.var(ddof=ddof) / len(y1) / m1**2
                                                 + y0.var(ddof=ddof) / len(y0) / m0**2))


def _effect_row(y1: np.ndarray, y0: np.ndarray, binary: bool) -> dict[str, float]:
    """One arm-vs-control comparison: sizes, means, difference and lift with their CIs."""
    if binary:
        low, high = newcombe_interval(y1.sum(), len(y1), y0.sum(), len(y0))
    else:
        low, high = welch_interval(y1, y0)
    lift, lift_low, lift_high = lift_interval(y1, y0, binary)
    return {
        "n": len(y1), "mean": float(y1.mean()), "n_control": len(y0), "mean_control": float(y0.mean()),
        "difference": float(y1.mean() - y0.mean()), "ci_low": low, "ci_high": high,
        "lift": lift, "lift_low": lift_low, "lift_high": lift_high,
    }


def average_effects(
    outcome: ArrayLike,
    arm: ArrayLike,
    *,
    control: str = "control",
    segment: ArrayLike | None = None,
    kind: str = "auto",
    name: str = "outcome",
) -> AverageEffects:
    """Difference in mean outcome between each arm and control, with 95% CIs, overall and by segment.

    Parameters
    ----------
    outcome : array-like
        Outcome per customer: 0/1 (visit, conversion, churn within the horizon) or continuous (spend).
    arm : array-like
        Assigned arm per customer; `control` names the reference arm.
    control : str
        Label of the control (holdout) arm.
    segment : array-like, optional
        Segment label per customer; each segment gets its own rows besides the overall ones (segment "all").
    kind : {"auto", "binary", "continuous"}
        Binary outcomes use Newcombe's hybrid score interval for the difference of proportions; continuous ones
        Welch's interval. "auto" picks binary when every value is 0 or 1.
    name : str
        Name of the outcome, for labels.

    Returns
    -------
    AverageEffects
        One row per segment and arm; arms or segments with fewer than two customers in an arm are left out.

    References
    ----------
    Newcombe, R. G. (1998). Statistics in Medicine 17, 873-890. Welch, B. L. (1947). Biometrika 34, 28-35.
    Kohavi, R., Tang, D. and Xu, Y. (2020). Trustworthy Online Controlled Experiments, ch. 17 (relative lift).
    """
    y = np.asarray(outcome, dtype=float)
    arms = np.asarray(arm).astype(str)
    if np.isnan(y).any():
        raise ValueError(f"{name}: {int(np.isnan(y).sum())} missing outcome values; drop or impute them first")
    if control not in set(arms):
        raise ValueError(f"control arm {control!r} not found among arms {sorted(set(arms))}")
    binary = is_binary(y) if kind == "auto" else kind == "binary"
    groups = [(ALL, np.ones(len(y), dtype=bool))]
    if segment is not None:
        seg = np.asarray(segment).astype(str)
        groups += [(level, seg == level) for level in sorted(set(seg))]
    rows = []
    for label, mask in groups:
        y0 = y[mask & (arms == control)]
        for treated in sorted(set(arms) - {control}):
            y1 = y[mask & (arms == treated)]
            if len(y1) >= 2 and len(y0) >= 2:
                rows.append({"segment": label, "arm": treated, **_effect_row(y1, y0, binary)})
    return AverageEffects(name, "binary" if binary else "continuous", control, pd.DataFrame(rows))
