"""Loyalty figures: NPS composition and churn rate by score level."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxresearch.loyalty import NPSResult
from cxresearch.plots import PALETTE, new_figure

#: Detractor / passive / promoter colours: Okabe-Ito vermillion, neutral grey, blue (colour-blind safe).
NPS_COLORS: dict[str, str] = {"detractors": PALETTE[3], "passives": "#BBBBBB", "promoters": PALETTE[0]}


def plot_nps_composition(
    results: NPSResult | Mapping[str, NPSResult], title: str = "NPS composition"
) -> plt.Figure:
    """Stacked bars of % detractors, passives and promoters, one row per result, NPS with CI at the right.

    Parameters
    ----------
    results
        One `NPSResult`, or several keyed by segment name (drawn top to bottom in the given order).
    """
    named = {"All respondents": results} if isinstance(results, NPSResult) else dict(results)
    fig, (ax,) = new_figure(height=1.6 + 0.6 * len(named))
    rows = np.arange(len(named))[::-1]
    left = np.zeros(len(named))
    for group, color in NPS_COLORS.items():
        shares = np.array([100.0 * getattr(r, group) for r in named.values()])
        bars = ax.barh(rows, shares, left=left, color=color, label=group.capitalize(), height=0.6)
        # Label segments wide enough to hold the text.
        ax.bar_label(
            bars,
            labels=[f"{s:.0f}%" if s >= 6 else "" for s in shares],
            label_type="center",
            color="white" if group != "passives" else "black",
            fontsize=9,
        )
        left += shares
    ax.set_yticks(rows, [f"{name}\n(n={r.n:,})" for name, r in named.items()])
    for row, r in zip(rows, named.values(), strict=True):
        ax.annotate(
            f"NPS {r.score:+.0f}\n({r.ci_low:+.0f} to {r.ci_high:+.0f})",
            xy=(100, row),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
        )
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of respondents")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    height = fig.get_figheight()
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3)
    fig.tight_layout(rect=(0, 0.4 / height, 1, 1))  # keep 0.4 in at the bottom for the legend
    return fig


def plot_churn_by_level(
    table: pd.DataFrame,
    window_months: float | None = None,
    title: str | None = None,
) -> plt.Figure:
    """Bars of churn rate by score level with 95% CI error bars and n under each level.

    Parameters
    ----------
    table
        Output of `cxresearch.loyalty.churn_by_level`.
    window_months
        Length of the prediction window, for the y-axis label.
    """
    fig, (ax,) = new_figure()
    x = np.arange(len(table))
    rate = table["churn_pct"].to_numpy()
    err = np.vstack([rate - table["ci_low"].to_numpy(), table["ci_high"].to_numpy() - rate])
    ax.bar(x, rate, color=PALETTE[0], width=0.7)
    ax.errorbar(x, rate, yerr=err, fmt="none", ecolor="black", capsize=4, linewidth=1.2)
    ax.set_xticks(x, [f"{level}\n(n={n:,})" for level, n in zip(table.index, table["n"], strict=True)])
    window = f"within {window_months:g} months" if window_months is not None else "in the prediction window"
    ax.set_ylabel(f"% churned {window}")
    ax.set_xlabel(str(table.index.name or "level"))
    ax.set_ylim(0, None)
    ax.set_title(title or f"Churn rate by {table.index.name or 'level'} (95% CI)")
    ax.grid(axis="x", visible=False)
    fig.tight_layout()
    return fig
