"""Expected maximum profit of a churn-based retention campaign (EMPC) and the class balance it is judged against.

Reference: Verbraken, Verbeke & Baesens (2013), "A novel profit maximizing metric for measuring classification
performance of customer churn prediction models", IEEE TKDE 25(5):961-973.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_curve

from cxresearch.stats.estimate import Estimate


@dataclass
class CampaignParameters:
    """Retention campaign: CLV of a retained churner, incentive cost d, contact cost f (currency per
    customer), and the acceptance rate of the incentive among would-be churners ~ Beta(alpha, beta)."""

    clv: float = 200.0
    incentive: float = 10.0
    contact: float = 1.0
    alpha: float = 6.0
    beta: float = 14.0

    def __post_init__(self) -> None:
        if self.clv <= 0 or self.incentive < 0 or self.contact < 0 or self.alpha <= 0 or self.beta <= 0:
            raise ValueError("need clv > 0, incentive >= 0, contact >= 0 and alpha, beta > 0")
        if self.incentive >= self.clv:
            raise ValueError("the incentive must cost less than the CLV it retains")


@dataclass
class EMPCResult:
    """Expected maximum profit per customer (currency), the fraction to target, and the profit curve."""

    empc: float
    fraction: float
    curve: pd.DataFrame
    parameters: CampaignParameters
    n: int

    def summary(self) -> pd.DataFrame:
        """EMPC per customer, for the whole scored base, and the profit-maximising fraction targeted (%)."""
        return pd.DataFrame({
            "value": [self.empc, self.empc * self.n, 100 * self.fraction],
            "unit": ["currency per customer", "currency", "%"],
        }, index=pd.Index(["empc", "empc_total", "fraction_targeted_pct"], name="quantity"))

    def to_estimates(self, prefix: str = "empc") -> dict[str, Estimate]:
        """EMPC per customer and the profit-maximising share to target."""
        p = self.parameters
        note = (f"CLV {p.clv:g}, incentive {p.incentive:g}, contact {p.contact:g}, "
                f"acceptance ~ Beta({p.alpha:g}, {p.beta:g})")
        return {
            prefix: Estimate(self.empc, "currency per customer", "Expected maximum profit of a retention "
                             "campaign (EMPC)", n=self.n, note=note),
            f"{prefix}_fraction": Estimate(100 * self.fraction, "%", "Profit-maximising share of customers "
                                           "to target", n=self.n, note=note),
        }


def _convex_hull(fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """Indices of the ROC points on the upper convex hull, from (0, 0) to (1, 1)."""
    hull: list[int] = []
    for i in range(len(fpr)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (fpr[b] - fpr[a]) * (tpr[i] - tpr[a]) - (tpr[b] - tpr[a]) * (fpr[i] - fpr[a])
            if cross >= 0:  # b lies on or below the segment a-i: not on the upper hull
                hull.pop()
            else:
                break
        hull.append(i)
    return np.asarray(hull)


def empc(y: np.ndarray, prob: np.ndarray, parameters: CampaignParameters | None = None) -> EMPCResult:
    """Expected maximum profit for churn (Verbraken, Verbeke & Baesens 2013) and the fraction to target.

    Targeting the customers above a score threshold, with churn share pi0 and F0, F1 the shares of churners
    and non-churners targeted, the profit per customer is
    ``CLV [(gamma (1 - delta) - phi) pi0 F0 - (delta + phi) pi1 F1]`` with delta = d / CLV, phi = f / CLV and
    gamma the acceptance rate. For each gamma the best threshold is a vertex of the ROC convex hull; EMPC
    integrates that maximum over gamma ~ Beta(alpha, beta), segment by segment in closed form.

    Parameters
    ----------
    y
        Churned (1) or not (0), one per customer.
    prob
        Predicted churn probabilities (0-1).
    parameters
        Campaign values: CLV, incentive, contact cost (currency) and the Beta acceptance rate; defaults if None.

    Returns
    -------
    EMPCResult
        EMPC (currency per customer), the profit-maximising share targeted and the profit curve.

    References
    ----------
    Verbraken, Verbeke & Baesens (2013), "A novel profit maximizing metric for measuring classification
    performance of customer churn prediction models", IEEE TKDE 25(5):961-973.
    """
    p = parameters or CampaignParameters()
    y = np.asarray(y, dtype=int)
    fpr, tpr, _ = roc_curve(y, prob, drop_intermediate=False)
    hull = _convex_hull(fpr, tpr)
    f0, f1 = tpr[hull], fpr[hull]
    pi0 = float(y.mean())
    pi1 = 1.0 - pi0
    delta, phi = p.incentive / p.clv, p.contact / p.clv
    # Profit of hull vertex i at acceptance gamma is a_i gamma + b_i (per customer, in CLV units).
    a = (1.0 - delta) * pi0 * f0
    b = -phi * pi0 * f0 - (delta + phi) * pi1 * f1
    # Vertex i+1 beats vertex i once gamma exceeds the crossing point; crossings increase along the hull.
    da = np.diff(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(da > 0, (b[:-1] - b[1:]) / da, np.inf)
    bounds = np.clip(np.concatenate([[0.0], crossing, [1.0]]), 0.0, 1.0)
    bounds = np.maximum.accumulate(bounds)
    low, high = bounds[:-1], bounds[1:]
    mass = stats.beta.cdf(high, p.alpha, p.beta) - stats.beta.cdf(low, p.alpha, p.beta)
    mean = p.alpha / (p.alpha + p.beta)
    first_moment = mean * (stats.beta.cdf(high, p.alpha + 1, p.beta) - stats.beta.cdf(low, p.alpha + 1, p.beta))
    value = p.clv * float(np.sum(a * first_moment + b * mass))
    fraction = float(np.sum(mass * (pi0 * f0 + pi1 * f1)))
    # Expected profit when targeting the top share of customers, at the mean acceptance rate (profit is
    # linear in gamma, so this is the expectation over gamma for a fixed share).
    order = np.argsort(-np.asarray(prob), kind="stable")
    churners = np.concatenate([[0], np.cumsum(y[order])])
    targeted = np.arange(len(y) + 1)
    n = len(y)
    profit = (p.clv * (mean * (1 - delta) - phi) * churners - (p.incentive + p.contact) * (targeted - churners)) / n
    curve = pd.DataFrame({"fraction": targeted / n, "profit": profit})
    return EMPCResult(value, fraction, curve, p, n)


def class_balance(y: np.ndarray) -> dict[str, float]:
    """Churn share, the accuracy of predicting nobody churns, and the no-skill PR-AUC (all 0-1).

    Parameters
    ----------
    y
        Churned (1) or not (0).

    Returns
    -------
    dict
        `churn_share`, `accuracy_of_no_churn` and `no_skill_pr_auc` (0-1).
    """
    share = float(np.mean(y))
    return {"churn_share": share, "accuracy_of_no_churn": 1.0 - share, "no_skill_pr_auc": share}
