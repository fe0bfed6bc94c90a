"""Value-at-stake figure: what to fix first, the CX levers ranked by margin retained a year with 95% intervals.

`plot_value_at_stake` draws a result object; `plot_fix_first` draws the same chart from the recorded
`value_at_stake_ranking` table (for pages built from results files). Neither sets the theme.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxresearch.economics.value_at_stake_result import ValueAtStakeResult
from cxresearch.plots import PALETTE, axes_or_new


def plot_value_at_stake(result: ValueAtStakeResult, ax: plt.Axes | None = None) -> plt.Axes:
    """Horizontal bars of margin retained a year (currency) under each lever's realistic improvement, largest
    on top, with 95% bootstrap intervals."""
    return plot_fix_first(result.ranking(), result.currency, ax=ax)


def plot_fix_first(ranking: pd.DataFrame, currency: str, ax: plt.Axes | None = None) -> plt.Axes:
    """The ranking chart from a table with label, scenario, margin_retained_annual and its _ci_low/_ci_high.

    Parameters
    ----------
    ranking : realistic scenarios, largest margin first (`ValueAtStakeResult.ranking()` or its recorded table).
    currency : the unit of the axis.
    ax : Axes to draw on (a new figure when None).

    Returns
    -------
    matplotlib.axes.Axes
        The chart.
    """
    ax = axes_or_new(ax, width=8.0, height=max(2.5, 0.9 * len(ranking) + 1.2))
    y = np.arange(len(ranking))[::-1]
    value = ranking["margin_retained_annual"].to_numpy(float)
    low = np.clip(value - ranking["margin_retained_annual_ci_low"].to_numpy(float), 0, None)
    high = np.clip(ranking["margin_retained_annual_ci_high"].to_numpy(float) - value, 0, None)
    ax.barh(y, value, color=PALETTE[0], height=0.6)
    ax.errorbar(value, y, xerr=np.vstack([np.nan_to_num(low), np.nan_to_num(high)]), fmt="none", ecolor="0.2",
                capsize=4)
    labels = [textwrap.fill(f"{label}: {scenario}", 36) for label, scenario in
              zip(ranking["label"], ranking["scenario"])]
    ax.set_yticks(y, labels, fontsize=9)
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_xlabel(f"Margin retained a year ({currency}), 95% CI")
    ax.set_title("What to fix first: realistic improvements ranked", fontsize=11)
    ax.figure.tight_layout()
    return ax
