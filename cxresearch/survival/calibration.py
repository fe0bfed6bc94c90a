"""Calibration of predicted survival at a horizon: predicted against observed, by risk group, under truncation.

Customers are grouped by their predicted probability of still being active at the horizon (deciles by default);
in each group the observed probability is the Kaplan-Meier estimate with delayed entry (a customer counts as at
risk at t only when entry < t <= T), with a Greenwood 95% CI on the log-log scale. Only customers observed before
the horizon (entry < horizon) can inform it, so only they are grouped. A well-calibrated model has the observed
survival of each group inside its CI around the predicted one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxresearch.errors import NotEstimableError
from cxresearch.stats.intervals import Z95
from cxresearch.stats.tables import TableSummary


@dataclass
class CalibrationResult(TableSummary):
    """Predicted and observed (Kaplan-Meier, 95% CI) survival at `horizon` months, per risk group.

    `table` (`summary()`), per risk group (1 = lowest predicted survival): customers, churners, predicted and observed survival.
    """

    table: pd.DataFrame  # group, n, events, predicted, observed, ci_low, ci_high
    horizon: float
    model: str
    n_excluded: int  # customers who came under observation at or after the horizon

    @property
    def share_within_ci(self) -> float:
        """Share of groups whose predicted survival lies inside the observed 95% CI (fraction)."""
        inside = (self.table["predicted"] >= self.table["ci_low"]) & (self.table["predicted"] <= self.table["ci_high"])
        return float(inside.mean())

    def _repr_html_(self) -> str:
        """The summary as an HTML table with a caption naming the model and horizon."""
        caption = (f"{self.model}: survival at {self.horizon:g} months, predicted vs observed (Kaplan-Meier, 95% "
                   f"CI) by risk group; {self.share_within_ci:.0%} of groups within their CI")
        return f"<p>{html.escape(caption)}</p>" + self.table.round(3).to_html(index=False)


def observed_survival(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray, horizon: float
) -> tuple[float, float, float]:
    """Kaplan-Meier survival at `horizon` (months) with delayed entry and its log-log Greenwood 95% CI."""
    times = np.unique(time[event & (time <= horizon)])
    if times.size == 0:
        return 1.0, 1.0, 1.0
    deaths = np.array([np.sum(event & (time == t)) for t in times], dtype=float)
    at_risk = np.array([np.sum((entry < t) & (time >= t)) for t in times], dtype=float)
    survival = float(np.prod(1.0 - deaths / at_risk))
    if survival <= 0.0:
        return 0.0, 0.0, 0.0
    with np.errstate(divide="ignore"):
        greenwood = float(np.sum(deaths / (at_risk * (at_risk - deaths))))
    log_s = np.log(survival)
    if not np.isfinite(greenwood) or log_s == 0.0:
        return survival, survival, survival
    half = Z95 * np.sqrt(greenwood) / abs(log_s)
    return survival, survival ** np.exp(half), survival ** np.exp(-half)


def calibration_at(
    time: np.ndarray,
    event: np.ndarray,
    entry: np.ndarray | None,
    predicted: np.ndarray,
    horizon: float,
    n_groups: int = 10,
    model: str = "model",
) -> CalibrationResult:
    """Predicted vs observed survival at `horizon` by group of predicted survival (deciles by default).

    Parameters
    ----------
    time, event : array-like
        Lifetime in months and whether it ended in churn, one per customer.
    entry : array-like or None
        Tenure in months at which each customer came under observation (left truncation); None means 0.
    predicted : array-like
        Each customer's predicted probability of still being a customer at `horizon`.
    horizon : float
        Months (on the same scale as `time`).
    n_groups : int
        Number of equal-sized groups of predicted survival (10: deciles).
    model : str
        Name of the model, for captions and plots.

    Returns
    -------
    CalibrationResult
        Per group: n, events, mean predicted survival, observed Kaplan-Meier survival and its 95% CI.

    References
    ----------
    .. [1] Greenwood, M. (1926). The natural duration of cancer. Reports on Public Health and Medical Subjects 33.
    .. [2] Royston, P., Altman, D.G. (2013). External validation of a Cox prognostic model: principles and
           methods. BMC Medical Research Methodology 13, 33.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    entry = np.zeros(time.size) if entry is None else np.asarray(entry, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    seen = entry < horizon
    if seen.sum() < 2 * n_groups:
        raise NotEstimableError(f"only {int(seen.sum())} customers are observed before {horizon:g} months",
                                needs="more customers")
    # rank first so ties in predicted survival (e.g. a categorical model) still split into equal groups
    ranks = pd.Series(predicted[seen]).rank(method="first")
    group = pd.qcut(ranks, n_groups, labels=False).to_numpy() + 1
    rows = []
    t, e, en, p = time[seen], event[seen], entry[seen], predicted[seen]
    for g in range(1, n_groups + 1):
        members = group == g
        observed, low, high = observed_survival(t[members], e[members], en[members], horizon)
        rows.append({"group": g, "n": int(members.sum()), "events": int((e[members] & (t[members] <= horizon)).sum()),
                     "predicted": float(p[members].mean()), "observed": observed, "ci_low": low, "ci_high": high})
    return CalibrationResult(pd.DataFrame(rows), float(horizon), model, int((~seen).sum()))
