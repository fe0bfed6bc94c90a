"""Experiment figures: Qini curves of uplift rankings against random targeting, and targeting policies by
incremental profit."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

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
