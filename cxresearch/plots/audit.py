"""Figures for the data audit: each `plot_*(result, ..., ax=None)` draws on `ax` (a new figure when None) and
returns it; the house style is set once per notebook by `cxresearch.plots.set_theme`."""

from __future__ import annotations

import matplotlib.pyplot as plt

from cxresearch.data.audit import AuditResult
from cxresearch.plots import PALETTE
from cxresearch.plots.panels import panels

#: Panel titles per survey instrument, with its scale.
SCORE_TITLES = {"nps": "NPS (0-10)", "csat": "CSAT (1-5)", "ces": "CES (1 low - 7 high effort)"}


def plot_monthly_activity(result: AuditResult, ax: plt.Axes | None = None) -> plt.Axes:
    """Active customers (bars, left axis) and monthly churn rate in % (line, right axis) per calendar month.

    Parameters
    ----------
    result
        The data audit; its `monthly` table is drawn.
    ax
        Where to draw; a new 9 x 4 inch figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The left (customers) axis; the churn rate is on its twin.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    m = result.monthly
    ax.bar(m["month"], m["active_start"], width=25, color=PALETTE[5], alpha=0.6, label="active customers")
    ax.set_ylabel("customers active at month start")
    ax2 = ax.twinx()
    ax2.plot(m["month"], m["churn_rate"], color=PALETTE[3], marker="o", ms=3, label="monthly churn rate")
    ax2.set_ylabel("% churned in month")
    ax2.set_ylim(bottom=0)
    ax2.grid(False)
    ax.set_title("Customer base and monthly churn")
    ax.figure.legend(loc="upper left", bbox_to_anchor=(0.08, 0.9))
    ax.figure.tight_layout()
    return ax


def plot_score_distribution(result: AuditResult, ax: plt.Axes | None = None) -> plt.Axes:
    """Share of responses (%) at each score for NPS, CSAT and CES, one panel each, side by side.

    Parameters
    ----------
    result
        The data audit; its `score_distribution` table is drawn for each instrument with any response.
    ax
        Where to draw the panels: its area is divided into one panel per instrument; a new figure 4 inches
        wide per panel when None.

    Returns
    -------
    matplotlib.axes.Axes
        The first panel.
    """
    dist = result.score_distribution
    instruments = [i for i in dist["instrument"].unique() if dist.loc[dist["instrument"] == i, "responses"].sum() > 0]
    n = max(len(instruments), 1)
    axes = panels(ax, n, width=4.0 * n, height=3.6)
    for panel, instrument, colour in zip(axes, instruments, PALETTE):
        d = dist[dist["instrument"] == instrument]
        panel.bar(d["score"].astype(str), d["pct"], color=colour)
        panel.set_title(SCORE_TITLES.get(instrument, instrument))
        panel.set_xlabel("score")
        panel.set_ylabel("% of responses")
    axes[0].figure.tight_layout()
    return axes[0]

