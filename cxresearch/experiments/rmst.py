"""Effect of an arm on lifetime: difference in restricted mean survival time (RMST) up to a horizon, from
Kaplan-Meier curves per arm, with Greenwood-based standard errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95
from cxresearch.stats.tables import TableSummary


@dataclass
class RMSTEffects(TableSummary):
    """RMST per arm and the difference of each arm from control up to `horizon` (time units of the input).

    `arms` has one row per arm (n, events, rmst, se); `table` one row per treated arm with the difference
    (arm minus control), its standard error and 95% CI.

    `table` (`summary()`): difference in RMST of each arm vs control, with 95% CI.
    """

    horizon: float
    unit: str
    control: str
    arms: pd.DataFrame
    table: pd.DataFrame

    def estimate(self, arm: str) -> Estimate:
        """RMST difference of `arm` minus control (in `unit`) with its 95% CI."""
        row = self.table[self.table["arm"] == arm].iloc[0]
        return Estimate(
            float(row["difference"]), self.unit, f"RMST difference to {self.horizon:g} {self.unit}: {arm} vs "
            f"{self.control}", float(row["ci_low"]), float(row["ci_high"]), n=int(row["n"] + row["n_control"]),
        )

    def _repr_html_(self) -> str:
        return (f"<b>Restricted mean lifetime to {self.horizon:g} {self.unit}</b>" + self.arms.to_html(index=False)
                + self.table.to_html(index=False))


def rmst_with_se(duration: np.ndarray, event: np.ndarray, horizon: float) -> tuple[float, float]:
    """Kaplan-Meier RMST up to `horizon` (time units) and its Greenwood-based standard error.

    Parameters
    ----------
    duration : numpy.ndarray
        Follow-up time per customer.
    event : numpy.ndarray
        1 when the customer left at `duration`, 0 when still active (censored).
    horizon : float
        Upper limit tau of the integral of the survival curve.

    Returns
    -------
    tuple of float
        RMST = integral of S(t) from 0 to tau, and its standard error
        sqrt(sum_j A_j^2 d_j / (n_j (n_j - d_j))) with A_j the area under S from event time t_j to tau.

    References
    ----------
    Klein, J. P. and Moeschberger, M. L. (2003). Survival Analysis, 2nd ed., section 4.5.
    Royston, P. and Parmar, M. K. B. (2013). Restricted mean survival time: an alternative to the hazard ratio
    for the design and analysis of randomized trials. BMC Medical Research Methodology 13, 152.
    """
    order = np.sort(duration)
    times, deaths = np.unique(duration[(event == 1) & (duration <= horizon)], return_counts=True)
    at_risk = len(order) - np.searchsorted(order, times, side="left")
    surv = np.cumprod(1.0 - deaths / at_risk)
    knots = np.concatenate([[0.0], times, [horizon]])
    heights = np.concatenate([[1.0], surv])
    pieces = heights * np.diff(knots)
    # area under S from each event time to the horizon (pieces[j + 1] starts at times[j])
    tail = np.cumsum(pieces[::-1])[::-1][1:]
    survivors = at_risk - deaths
    terms = np.divide(tail**2 * deaths, at_risk * survivors, out=np.zeros_like(tail), where=survivors > 0)
    return float(pieces.sum()), float(np.sqrt(terms.sum()))


def rmst_difference(
    duration: ArrayLike,
    event: ArrayLike,
    arm: ArrayLike,
    horizon: float,
    *,
    control: str = "control",
    unit: str = "months",
) -> RMSTEffects:
    """Difference in restricted mean survival time between each arm and control, with 95% CIs.

    Parameters
    ----------
    duration, event : array-like
        Follow-up time per customer (from assignment), and 1 when the customer left, 0 when still active at the
        end of follow-up.
    arm : array-like
        Assigned arm per customer.
    horizon : float
        Horizon tau of the RMST, in the units of `duration`; keep it within the follow-up of every arm.
    control : str
        Label of the control arm.
    unit : str
        Time unit of `duration`, for labels.

    Returns
    -------
    RMSTEffects
        RMST per arm and the differences (arm minus control) with Wald 95% CIs from independent arms' standard
        errors: difference +/- 1.96 sqrt(se_arm^2 + se_control^2).

    References
    ----------
    Royston, P. and Parmar, M. K. B. (2013). BMC Medical Research Methodology 13, 152.
    """
    t = np.asarray(duration, dtype=float)
    d = np.asarray(event, dtype=int)
    arms = np.asarray(arm).astype(str)
    if control not in set(arms):
        raise ValueError(f"control arm {control!r} not found among arms {sorted(set(arms))}")
    per_arm = []
    for label in sorted(set(arms)):
        mask = arms == label
        value, se = rmst_with_se(t[mask], d[mask], horizon)
        per_arm.append({"arm": label, "n": int(mask.sum()), "events": int(d[mask].sum()), "rmst": value, "se": se})
    arms_table = pd.DataFrame(per_arm)
    ref = arms_table.set_index("arm").loc[control]
    rows = []
    for row in arms_table[arms_table["arm"] != control].itertuples():
        se = float(np.hypot(row.se, ref["se"]))
        diff = row.rmst - float(ref["rmst"])
        rows.append({"arm": row.arm, "n": row.n, "n_control": int(ref["n"]), "difference": diff, "se": se,
                     "ci_low": diff - Z95 * se, "ci_high": diff + Z95 * se})
    return RMSTEffects(horizon, unit, control, arms_table, pd.DataFrame(rows))
