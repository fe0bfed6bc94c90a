"""Experiment figures: Qini curves of uplift rankings against random targeting, targeting policies by
incremental profit, and each campaign's effect beside its best policy's profit (the executive page)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxresearch.experiments.policy import PolicyComparison
from cxresearch.experiments.qini import QiniResult
from cxresearch.plots import PALETTE


def plot_qini(result: QiniResult | Sequence[QiniResult], ax: plt.Axes | None = None) -> plt.Axes:
    """Qini curve (incremental outcomes, count) of each ranking against the share targeted, with its 95%
    bootstrap band, and random targeting as a dashed line; the legend gives each Qini coefficient."""
    results = [result] if isinstance(result, QiniResult) else list(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 4.5))
    share = 100 * results[0].fraction
    for i, res in enumerate(results):
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(share, res.qini_low, res.qini_high, color=colour, alpha=0.2, linewidth=0)
        ax.plot(share, res.qini, color=colour, label=f"{res.label or 'model'} (Qini {res.coefficient.format(1)})")
    ax.plot(share, results[0].random, color="0.3", linestyle="--", label="random targeting")
    ax.set_xlabel("Customers targeted, highest predicted uplift first (%)")
    ax.set_ylabel("Incremental outcomes (count)")
    ax.set_title(f"Qini curve on {results[0].n:,} held-out customers")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_policy_comparison(result: PolicyComparison, ax: plt.Axes | None = None) -> plt.Axes:
    """Incremental profit per customer (in the result's currency) of each targeting policy against contacting
    no one, with 95% bootstrap CIs, and the share of customers each targets."""
    table = result.table.iloc[::-1].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.6 * len(table) + 1.5))
    y = np.arange(len(table))
    best = table["policy"] == result.best
    ax.barh(y, table["profit_per_customer"], color=[PALETTE[1] if b else PALETTE[0] for b in best], height=0.6)
    profit = table["profit_per_customer"]
    errors = np.vstack([profit - table["ci_low"], table["ci_high"] - profit])
    ax.errorbar(table["profit_per_customer"], y, xerr=errors, fmt="none", ecolor="0.2", capsize=3)
    ax.set_yticks(y, [f"{p}\n({s:.0%} targeted)" for p, s in zip(table["policy"], table["share_targeted"])])
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    unit = f" ({result.currency})" if result.currency else ""
    ax.set_xlabel(f"Incremental profit per customer vs contacting no one{unit}")
    title = f"Targeting policies on {result.n:,} held-out customers\n({result.cost_text})"
    ax.set_title(title, fontsize=11)
    return ax


def _bars(ax: plt.Axes, value: np.ndarray, low: np.ndarray, high: np.ndarray, colour: str) -> np.ndarray:
    """Horizontal bars of `value`, top row first, with 95% CI error bars where both ends are finite; the y
    positions."""
    y = np.arange(len(value))[::-1]
    ax.barh(y, value, color=colour, height=0.55)
    finite = np.isfinite(low) & np.isfinite(high) & np.isfinite(value)
    errors = np.vstack([value - low, high - value])[:, finite]
    ax.errorbar(value[finite], y[finite], xerr=errors, fmt="none", ecolor="0.2", capsize=3)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    return y


def plot_campaign_effects(table: pd.DataFrame, currency: str = "",
                          axes: Sequence[plt.Axes] | None = None) -> plt.Axes:
    """Each campaign arm's effect on its headline outcome (e.g. churn within 12 months, percentage points) and its
    best targeting policy's incremental profit per customer (`currency`), side by side with 95% CIs.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per campaign arm: label, effect, effect_low, effect_high, effect_unit, and profit, profit_low,
        profit_high, policy (NaN and '' for an arm without a policy comparison).
    currency : str
        Unit of the profits.
    axes : sequence of two Axes, optional
        Where to draw the effects and the profits; a new two-panel figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The effects panel (its figure holds both panels).
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11.0, 1.8 + 0.9 * len(table)), sharey=True)
    left, right = axes
    y = _bars(left, *(table[c].to_numpy(float) for c in ("effect", "effect_low", "effect_high")), PALETTE[0])
    left.set_yticks(y, table["label"])
    units = table["effect_unit"].unique()
    left.set_xlabel(f"Effect vs holdout\n({units[0]})" if len(units) == 1 else "Effect vs holdout\n(units as labelled)")
    left.set_title("What each campaign caused", fontsize=11)
    profit = table["profit"].to_numpy(float)
    _bars(right, profit, table["profit_low"].to_numpy(float), table["profit_high"].to_numpy(float), PALETTE[1])
    for yi, value, policy in zip(y, profit, table["policy"]):
        if np.isfinite(value) and policy:
            right.annotate(f"best: {policy}", (0, yi), xytext=(4, 12), textcoords="offset points", fontsize=8,
                           color="0.25")
    right.set_xlabel("Profit per customer vs contacting no one" + (f"\n({currency})" if currency else ""))
    right.set_title("Best targeting policy, held-out customers", fontsize=11)
    left.figure.tight_layout()
    return left
