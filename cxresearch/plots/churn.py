"""Churn-model figures: odds-ratio forest plot."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

from cxresearch.churn import INTERCEPT, ChurnLogitResult
from cxresearch.plots import PALETTE, new_figure


def plot_odds_ratios(
    result: ChurnLogitResult,
    terms: Sequence[str] | None = None,
    title: str = "What goes with churn: odds ratios (95% CI)",
) -> plt.Figure:
    """Forest plot of churn odds ratios with 95% CIs on a log axis, reference line at 1 (no association).

    Parameters
    ----------
    result
        Output of `cxresearch.churn.fit_churn_logit`.
    terms
        Terms to show, top to bottom; default every term except the intercept, in model order.
    """
    table = result.summary().drop(index=INTERCEPT)
    if terms is not None:
        table = table.loc[list(terms)]
    fig, (ax,) = new_figure(width=9.0, height=1.2 + 0.38 * len(table))
    rows = np.arange(len(table))[::-1]
    # Odds ratios above 1 (more churn) and below 1 (less churn) in distinct colours.
    colors = [PALETTE[3] if o > 1 else PALETTE[0] for o in table["odds_ratio"]]
    for row, low, high, color in zip(rows, table["or_ci_low"], table["or_ci_high"], colors, strict=True):
        ax.plot([low, high], [row, row], color=color, linewidth=2, solid_capstyle="butt")
    ax.scatter(table["odds_ratio"], rows, color=colors, zorder=3, s=30)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    # Plain-number ticks (0.5, 1, 2) read better than powers of ten for odds ratios.
    low, high = ax.get_xlim()
    mantissas = (1, 1.5, 2, 3, 5, 7) if high / low < 10 else (1, 2, 5)
    ticks = [m * 10.0**e for e in range(-12, 13) for m in mantissas if low <= m * 10.0**e <= high]
    if len(ticks) > 8:  # wide range (e.g. a separating term): powers of ten only, thinned to about 8
        decades = [t for t in ticks if np.log10(t).is_integer()]
        ticks = decades[:: -(-len(decades) // 8)]
    ax.xaxis.set_major_locator(FixedLocator(ticks) if len(ticks) >= 2 else LogLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(rows, list(table["label"]))
    ax.set_ylim(-0.7, len(table) - 0.3)
    xlabel = "Odds ratio of churn, log scale (< 1: less churn)"
    if result.method.startswith("Firth"):
        xlabel += "\nFirth penalised fit (separation in the data, see notes)"
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
