"""Loyalty figures: NPS composition, churn rate by score level, metric trends and groups, non-response
(NPS, CSAT, CES)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from cxresearch.loyalty.metrics import NPSResult
from cxresearch.loyalty.nonresponse import WeightedNPS, WeightedScores
from cxresearch.plots import PALETTE, new_figure

#: Detractor / passive / promoter colours: Okabe-Ito vermillion, neutral grey, blue (colour-blind safe).
NPS_COLORS: dict[str, str] = {"detractors": PALETTE[3], "passives": "#BBBBBB", "promoters": PALETTE[0]}


def error_bars(value: ArrayLike, low: ArrayLike, high: ArrayLike) -> np.ndarray:
    """Distances (2 x n, never negative) from each value down to `low` and up to `high`, in the value's unit.

    A Wilson interval around 0% or 100% can sit a rounding error inside the estimate, and an undefined interval
    (NaN) draws no bar; matplotlib refuses negative distances, so they are clipped to 0.
    """
    value, low, high = (np.asarray(a, dtype=float).reshape(-1) for a in (value, low, high))
    return np.nan_to_num(np.vstack([value - low, high - value]), nan=0.0).clip(min=0.0)


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
        Output of `cxresearch.loyalty.metrics.churn_by_level`.
    window_months
        Length of the prediction window, for the y-axis label.
    """
    fig, (ax,) = new_figure()
    x = np.arange(len(table))
    rate = table["churn_pct"].to_numpy()
    err = error_bars(rate, table["ci_low"], table["ci_high"])
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


def plot_metric_trend(table: pd.DataFrame, title: str, ylabel: str | None = None) -> plt.Figure:
    """Monthly metric as a line with its 95% CI band and the number of responses per month beneath.

    Parameters
    ----------
    table
        Output of `cxresearch.loyalty.metrics.monthly_trend` (index: month start; `value`, `ci_low`, `ci_high`, `n`, `unit`).
    """
    fig, (ax,) = new_figure()
    if len(table):
        ax.fill_between(table.index, table["ci_low"], table["ci_high"], color=PALETTE[0], alpha=0.2,
                        linewidth=0, label="95% CI")
        ax.plot(table.index, table["value"], color=PALETTE[0], marker="o", markersize=3, label="monthly value")
        ax.legend(loc="best")
    unit = str(table["unit"].iloc[0]) if len(table) else ""
    ax.set_ylabel(ylabel or unit)
    ax.set_xlabel("month of response")
    ax.set_title(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_metric_by(table: pd.DataFrame, title: str, xlabel: str | None = None) -> plt.Figure:
    """A point with its 95% CI per group (top to bottom in the table's order), n beside each label.

    Parameters
    ----------
    table
        Output of `cxresearch.loyalty.metrics.metric_by` (index: group; `value`, `ci_low`, `ci_high`, `n`, `unit`).
    """
    fig, (ax,) = new_figure(height=1.4 + 0.45 * max(len(table), 1))
    rows = np.arange(len(table))[::-1]
    value = table["value"].to_numpy(dtype=float)
    err = error_bars(value, table["ci_low"], table["ci_high"])
    ax.errorbar(value, rows, xerr=err, fmt="o", color=PALETTE[0], ecolor=PALETTE[0], capsize=3)
    ax.set_yticks(rows, [f"{g} (n={n:,})" for g, n in zip(table.index, table["n"], strict=True)])
    unit = str(table["unit"].iloc[0]) if len(table) else ""
    ax.set_xlabel(xlabel or unit)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def plot_nonresponse_correction(result: WeightedNPS, truth: float | None = None) -> plt.Figure:
    """Raw NPS of responders and IPW-corrected NPS of all customers, with 95% CIs (and the truth when known)."""
    fig, (ax,) = new_figure(height=2.8)
    summary = result.summary()
    rows = np.arange(len(summary))[::-1]
    value = summary["nps"].to_numpy()
    err = error_bars(value, summary["ci_low"], summary["ci_high"])
    for row, v, e, color in zip(rows, value, err.T, (PALETTE[1], PALETTE[0]), strict=True):
        ax.errorbar([v], [row], xerr=e.reshape(2, 1), fmt="o", color=color, capsize=4)
    if truth is not None:
        ax.axvline(truth, color=PALETTE[7], linestyle="--", linewidth=1, label="true NPS (simulation)")
        ax.legend(loc="best")
    ax.set_yticks(rows, [f"{name} (n={n:,})" for name, n in zip(summary.index, summary["n"], strict=True)])
    ax.set_xlabel("NPS (points, -100 to 100)")
    ax.set_title("NPS before and after correcting for non-response")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def plot_score_nonresponse(results: Mapping[str, WeightedScores]) -> plt.Figure:
    """CSAT and CES metrics of responders and IPW-corrected to every customer asked, 95% CIs, one panel per metric."""
    panels = [(r, metric) for r in results.values() for metric in r.table.index]
    fig, axes = new_figure(width=3.4 * len(panels), height=2.9, ncols=len(panels))
    for ax, (result, metric) in zip(axes, panels, strict=True):
        row = result.table.loc[metric]
        for y, (value, low, high, color) in enumerate(((row.ipw, row.ci_low, row.ci_high, PALETTE[0]),
                                                       (row.raw, row.raw_ci_low, row.raw_ci_high, PALETTE[1]))):
            ax.errorbar([value], [y], xerr=error_bars(value, low, high), fmt="o", color=color, capsize=4)
        ax.set_yticks([0, 1], [f"IPW, all asked\n(n={result.n_population:,})",
                               f"raw, responders\n(n={result.n_responders:,})"])
        ax.set_ylim(-0.6, 1.6)
        ax.set_xlabel(f"{row.label} ({row.unit})")
        ax.grid(axis="y", visible=False)
        ax.margins(x=0.3)
    fig.suptitle("CSAT and CES before and after correcting for non-response", fontweight="bold")
    fig.tight_layout()
    return fig
