"""Figures for the data audit."""

from __future__ import annotations

import matplotlib.pyplot as plt

from cxresearch.data.audit import AuditResult
from cxresearch.plots import PALETTE, new_figure


def plot_monthly_activity(result: AuditResult) -> plt.Figure:
    """Active customers (bars, left axis) and monthly churn rate in % (line, right axis) per calendar month."""
    fig, (ax,) = new_figure(9, 4)
    m = result.monthly
    ax.bar(m["month"], m["active_start"], width=25, color=PALETTE[5], alpha=0.6, label="active customers")
    ax.set_ylabel("customers active at month start")
    ax2 = ax.twinx()
    ax2.plot(m["month"], m["churn_rate"], color=PALETTE[3], marker="o", ms=3, label="monthly churn rate")
    ax2.set_ylabel("% churned in month")
    ax2.set_ylim(bottom=0)
    ax2.grid(False)
    ax.set_title("Customer base and monthly churn")
    fig.legend(loc="upper left", bbox_to_anchor=(0.08, 0.9))
    fig.tight_layout()
    return fig


def plot_score_distribution(result: AuditResult) -> plt.Figure:
    """Share of responses (%) at each score for NPS, CSAT and CES, side by side."""
    dist = result.score_distribution
    instruments = [i for i in dist["instrument"].unique() if dist.loc[dist["instrument"] == i, "responses"].sum() > 0]
    fig, axes = new_figure(4 * max(len(instruments), 1), 3.6, ncols=max(len(instruments), 1))
    titles = {"nps": "NPS (0-10)", "csat": "CSAT (1-5)", "ces": "CES (1 low - 7 high effort)"}
    for ax, instrument, colour in zip(axes, instruments, PALETTE):
        d = dist[dist["instrument"] == instrument]
        ax.bar(d["score"].astype(str), d["pct"], color=colour)
        ax.set_title(titles.get(instrument, instrument))
        ax.set_xlabel("score")
        ax.set_ylabel("% of responses")
    fig.tight_layout()
    return fig
