"""Economics figures: CLV by segment, and acquisition vs retention cost."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxresearch.economics import CLVResult, RetentionEconomics
from cxresearch.plots import PALETTE, new_figure


def clv_by_segment(clv: CLVResult, title: str | None = None) -> plt.Figure:
    """Bar per group of customer lifetime value (currency) with 95% bootstrap CI error bars."""
    table = clv.summary()
    fig, (ax,) = new_figure(width=max(7.0, 1.2 * len(table) + 2.5))
    x = np.arange(len(table))
    ax.bar(x, table["clv"], color=[PALETTE[i % len(PALETTE)] for i in x], width=0.6)
    ax.errorbar(x, table["clv"], yerr=_yerr(table, "clv"), fmt="none", ecolor="0.2", capsize=4)
    ax.set_xticks(x, [f"{g}\n(n = {n:,})" for g, n in zip(table["group"], table["n"])])
    ax.set_ylabel(f"CLV per customer ({clv.currency})")
    ax.set_xlabel(clv.group or "")
    ax.set_title(
        title or f"Customer lifetime value ({clv.horizon_months} months, {clv.monthly_discount_rate:.1%}/month discount)",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def acquisition_vs_retention(econ: RetentionEconomics, title: str | None = None) -> plt.Figure:
    """Bars (currency) of the cost to acquire a customer, overall and by channel, vs the cost to save one."""
    rows = [("Acquire (all)", econ.acquisition_cost.value, econ.acquisition_cost.ci_low, econ.acquisition_cost.ci_high)]
    rows += [
        (f"Acquire: {r.channel}", r.acquisition_cost, r.ci_low, r.ci_high)
        for r in econ.acquisition_by_channel.itertuples()
    ]
    save = econ.retention_cost_per_save
    rows.append(("Retain (per save)", save.value, save.ci_low, save.ci_high))
    table = pd.DataFrame(rows, columns=["label", "cost", "ci_low", "ci_high"])
    colours = [PALETTE[0]] + [PALETTE[5]] * (len(table) - 2) + [PALETTE[1]]
    fig, (ax,) = new_figure(width=max(6.0, 1.3 * len(table) + 2.0))
    x = np.arange(len(table))
    ax.bar(x, table["cost"], color=colours, width=0.6)
    ax.errorbar(x, table["cost"], yerr=_yerr(table, "cost"), fmt="none", ecolor="0.2", capsize=4)
    ax.set_xticks(x, table["label"], rotation=15 if len(table) > 4 else 0)
    ax.set_ylabel(f"Cost per customer ({econ.acquisition_cost.unit})")
    ratio = econ.cost_ratio
    interval = f" (95% CI {ratio.ci_low:.1f}-{ratio.ci_high:.1f})" if ratio.ci_low is not None else ""
    ax.set_title(
        title
        or f"Acquiring costs {ratio.value:.1f}x{interval} retaining; "
        f"claim {econ.claim_multiple:g}x: {econ.claim_verdict}",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def _yerr(table: pd.DataFrame, column: str) -> np.ndarray:
    """Asymmetric error-bar lengths from ci_low/ci_high; zero where no interval is known."""
    low = (table[column] - table["ci_low"].astype(float)).fillna(0.0).clip(lower=0)
    high = (table["ci_high"].astype(float) - table[column]).fillna(0.0).clip(lower=0)
    return np.vstack([low.to_numpy(), high.to_numpy()])
