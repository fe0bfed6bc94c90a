"""Targeting policies compared on held-out randomised data by incremental profit against contacting no one:
inverse-probability-weighted (Hajek) policy values with paired bootstrap CIs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from cxresearch.stats.estimate import Estimate
from cxresearch.stats.tables import TableSummary


@dataclass
class PolicyComparison(TableSummary):
    """Incremental profit of each targeting policy against contacting no one, per customer and for all
    customers, with 95% bootstrap CIs (`currency`).

    `draws` holds the bootstrap replicates of the profit per customer (one column per policy, same resamples for
    every policy), so differences between policies get paired CIs (`difference`).

    `table` (`summary()`), one row per policy: customers targeted, profit per customer and in total, with CIs.
    """

    table: pd.DataFrame
    draws: np.ndarray
    cost: float
    currency: str
    n: int
    #: where `cost` came from, in words (e.g. "from the treatments table's cost column"); "" when not said
    cost_source: str = ""

    @property
    def cost_text(self) -> str:
        """'cost 2 USD per contact, from the treatments table's cost column': the cost and where it came from."""
        money = f" {self.currency}" if self.currency else ""
        return f"cost {self.cost:g}{money} per contact" + (f", {self.cost_source}" if self.cost_source else "")

    @property
    def best(self) -> str:
        """Name of the policy with the highest estimated incremental profit."""
        return str(self.table.loc[self.table["profit_per_customer"].idxmax(), "policy"])

    def estimate(self, policy: str) -> Estimate:
        """Incremental profit per customer (in `currency`) of one policy, with its 95% CI."""
        row = self.table[self.table["policy"] == policy].iloc[0]
        label = f"incremental profit per customer: {policy}"
        return Estimate(float(row["profit_per_customer"]), self.currency, label, float(row["ci_low"]),
                        float(row["ci_high"]), n=self.n)

    def difference(self, policy: str, other: str) -> Estimate:
        """Profit per customer of `policy` minus `other` (in `currency`), with a paired bootstrap 95% CI."""
        names = list(self.table["policy"])
        i, j = names.index(policy), names.index(other)
        point = float(self.table["profit_per_customer"].iloc[i] - self.table["profit_per_customer"].iloc[j])
        low, high = np.nanpercentile(self.draws[:, i] - self.draws[:, j], [2.5, 97.5])
        label = f"profit per customer: {policy} minus {other}"
        return Estimate(point, self.currency, label, float(low), float(high), n=self.n)

    def _repr_html_(self) -> str:
        head = f"<b>Targeting policies</b> ({self.cost_text}; best: {self.best})"
        return head + self.table.to_html(index=False)


def uplift_policy(uplift: ArrayLike, value_per_unit: float, cost: float) -> np.ndarray:
    """Target where predicted uplift (outcome units) x value per unit of outcome exceeds the cost per contact."""
    return np.asarray(uplift, dtype=float) * value_per_unit - cost > 0


def top_policy(score: ArrayLike, count: int) -> np.ndarray:
    """Target the `count` customers with the highest score (ties broken by position)."""
    s = np.asarray(score, dtype=float)
    target = np.zeros(len(s), dtype=bool)
    target[np.argsort(-s, kind="stable")[:count]] = True
    return target


def _contributions(
    target: np.ndarray, t: np.ndarray, value: np.ndarray, cost: float, e: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: weight 1[T = policy] / P(T) and weighted profit (value - cost x T) of that weight."""
    weight = np.where(t == target, np.where(t, 1.0 / e, 1.0 / (1.0 - e)), 0.0)
    return weight, weight * (value - cost * t)


def policy_value(target: ArrayLike, treated: ArrayLike, value: ArrayLike, cost: float, propensity: float) -> float:
    """Hajek estimate of the profit per customer (value units) of applying `target` to everyone.

    Parameters
    ----------
    target : array-like
        True where the policy contacts the customer.
    treated : array-like
        True where the customer was (randomly) assigned to treatment.
    value : array-like
        Money realised per customer over the outcome window (e.g. spend), before the contact cost.
    cost : float
        Cost per contact.
    propensity : float
        Probability of assignment to treatment.

    Returns
    -------
    float
        sum_i w_i (value_i - cost T_i) / sum_i w_i with w_i = 1[T_i = target_i] / P(T_i): the customers whose
        random assignment agrees with the policy stand for everyone the policy treats that way.

    References
    ----------
    Hirano, K., Imbens, G. W. and Ridder, G. (2003). Efficient estimation of average treatment effects using the
    estimated propensity score. Econometrica 71, 1161-1189 (normalised weights).
    """
    weight, profit = _contributions(np.asarray(target, bool), np.asarray(treated, bool),
                                    np.asarray(value, float), cost, propensity)
    return float(profit.sum() / weight.sum())


def compare_policies(
    policies: Mapping[str, ArrayLike], treated: ArrayLike, value: ArrayLike, *, cost: float,
    propensity: float | None = None, n_boot: int = 500, seed: int = 0, currency: str = "", cost_source: str = "",
) -> PolicyComparison:
    """Incremental profit of each targeting policy against contacting no one, on held-out randomised data.

    Parameters
    ----------
    policies : mapping of str to array-like of bool
        Name and targeting decision per customer of each policy (decided from covariates alone, by models fitted
        on other customers). "everyone" and "no one" are added when missing.
    treated : array-like
        True where the customer was randomly assigned to treatment.
    value : array-like
        Money realised per customer over the outcome window (e.g. spend; margin kept when retained), before the
        contact cost.
    cost : float
        Cost per contact, in the units of `value`.
    propensity : float, optional
        Probability of assignment to treatment by design; the share treated in the data when omitted.
    n_boot : int
        Bootstrap resamples of customers (the same resamples for every policy).
    seed : int
        Seed of the bootstrap.
    currency : str
        Unit of `value`, for labels.
    cost_source : str
        Where `cost` came from, in words (the data, or an assumed parameter), for labels.

    Returns
    -------
    PolicyComparison
        Per policy: share targeted and the incremental profit per customer and in total for these n customers
        (policy value minus the value of contacting no one, both by `policy_value`) with percentile 95% CIs.

    References
    ----------
    Hitsch, G. J. and Misra, S. (2018). Heterogeneous treatment effects and optimal targeting policy evaluation.
    SSRN 3111957. Ascarza, E. (2018). Retention futility: targeting high-risk customers might be ineffective.
    Journal of Marketing Research 55, 80-98.
    """
    t, v = np.asarray(treated, bool), np.asarray(value, float)
    e = float(t.mean()) if propensity is None else float(propensity)
    decisions = {"everyone": np.ones(len(t), bool), "no one": np.zeros(len(t), bool)}
    decisions.update({name: np.asarray(target, bool) for name, target in policies.items()})
    names = list(decisions)
    parts = [_contributions(decisions[name], t, v, cost, e) for name in names]
    weights = np.column_stack([w for w, _ in parts])
    profits = np.column_stack([p for _, p in parts])
    none = names.index("no one")

    def incremental(counts: np.ndarray) -> np.ndarray:
        # a small resample can hold nobody whose assignment agrees with a policy: that replicate is NaN, skipped
        with np.errstate(invalid="ignore", divide="ignore"):
            values = (counts @ profits) / (counts @ weights)
        return values - values[none]

    point = incremental(np.ones(len(t)))
    rng = np.random.default_rng(seed)
    draws = np.array([incremental(np.bincount(rng.integers(0, len(t), len(t)), minlength=len(t)).astype(float))
                      for _ in range(n_boot)])
    low, high = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    table = pd.DataFrame({
        "policy": names, "targeted": [int(decisions[n].sum()) for n in names],
        "share_targeted": [float(decisions[n].mean()) for n in names], "profit_per_customer": point,
        "ci_low": low, "ci_high": high, "total_profit": point * len(t), "total_low": low * len(t),
        "total_high": high * len(t),
    })
    return PolicyComparison(table, draws, cost, currency, len(t), cost_source)
