"""Loyalty figures: NPS composition, churn rate by score level, metric trends and groups, non-response
(NPS, CSAT, CES). Each draws on `ax` (a new figure when None) and returns the Axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxresearch.loyalty.metrics import NPSResult
from cxresearch.loyalty.nonresponse import WeightedNPS, WeightedScores
from cxresearch.plots import PALETTE, axes_or_new, error_bars, new_figure

#: Detractor / passive / promoter colours: Okabe-Ito vermillion, neutral grey, blue (colour-blind safe).
NPS_COLORS: dict[str, str] = {"detractors": PALETTE[3], "passives": "#BBBBBB", "promoters": PALETTE[0]}


def plot_nps_composition(
    results: NPSResult | Mapping[str, NPSResult], title: str = "NPS composition", ax: plt.Axes | None = None
) -> plt.Axes:
    """Stacked bars of % detractors, passives and promoters, one row per result, NPS with CI at the right.

    Parameters
    ----------
    results
        One `NPSResult`, or several keyed by segment name (drawn top to bottom in the given order).
    title
        Axes title, above the bars.
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes with one stacked bar per result.
    """
    named = {"All respondents": results} if isinstance(results, NPSResult) else dict(results)
    ax = axes_or_new(ax, height=1.6 + 0.6 * len(named))
    rows = np.arange(len(named))[::-1]
    left = np.zeros(len(named))
    for group, color in NPS_COLORS.items():
        shares = np.array([100.0 * getattr(r, group) for r in named.values()])
        bars = ax.barh(rows, shares, left=left, color=color, label=group.capitalize(), height=0.6)
        # Label segments wide enough to hold the text.
        ax.bar_label(bars, labels=[f"{s:.0f}%" if s >= 6 else "" for s in shares], label_type="center",
                     color="white" if group != "passives" else "black", fontsize=9)
        left += shares
    ax.set_yticks(rows, [f"{name}\n(n={r.n:,})" for name, r in named.items()])
    for row, r in zip(rows, named.values(), strict=True):
        ax.annotate(f"NPS {r.score:+.0f}\n({r.ci_low:+.0f} to {r.ci_high:+.0f})", xy=(100, row), xytext=(6, 0),
                    textcoords="offset points", va="center", fontsize=9)
    ax.set(xlim=(0, 100), xlabel="% of respondents", title=title)
    ax.grid(axis="y", visible=False)
    fig = ax.figure
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3)
    fig.tight_layout(rect=(0, 0.4 / fig.get_figheight(), 1, 1))  # keep 0.4 in at the bottom for the legend
    return ax


def plot_churn_by_level(
    table: pd.DataFrame, window_months: float | None = None, title: str | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Bars of churn rate by score level with 95% CI error bars and n under each level.

    Parameters
    ----------
    table
        Churn rate per level with Wilson CIs and n, as `cxresearch.loyalty.breakdowns.churn_by_level` returns it.
    window_months
        Length of the prediction window, for the y-axis label.
    title
        Axes title; by default "Churn rate by <level> (95% CI)".
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    ax = axes_or_new(ax)
    x = np.arange(len(table))
    rate = table["churn_pct"].to_numpy()
    ax.bar(x, rate, color=PALETTE[0], width=0.7)
    ax.errorbar(x, rate, yerr=error_bars(rate, table["ci_low"], table["ci_high"]), fmt="none", ecolor="black",
                capsize=4, linewidth=1.2)
    ax.set_xticks(x, [f"{level}\n(n={n:,})" for level, n in zip(table.index, table["n"], strict=True)])
    window = f"within {window_months:g} months" if window_months is not None else "in the prediction window"
    level = table.index.name or "level"
    ax.set(ylabel=f"% churned {window}", xlabel=str(level), title=title or f"Churn rate by {level} (95% CI)")
    ax.set_ylim(0, None)
    ax.grid(axis="x", visible=False)
    ax.figure.tight_layout()
    return ax


def plot_metric_trend(table: pd.DataFrame, title: str, ylabel: str | None = None,
                      ax: plt.Axes | None = None) -> plt.Axes:
    """Monthly metric as a line with its 95% CI band.

    Parameters
    ----------
    table
        Output of `cxresearch.loyalty.breakdowns.monthly_trend` (index: month start; `value`, `ci_low`, `ci_high`,
        `n`, `unit`).
    title, ylabel
        Axes title and y-axis label (by default the table's unit).
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes with the monthly line and its CI band.
    """
    ax = axes_or_new(ax)
    if len(table):
        ax.fill_between(table.index, table["ci_low"], table["ci_high"], color=PALETTE[0], alpha=0.2,
                        linewidth=0, label="95% CI")
        ax.plot(table.index, table["value"], color=PALETTE[0], marker="o", markersize=3, label="monthly value")
        ax.legend(loc="best")
    ax.set(ylabel=ylabel or _unit(table), xlabel="month of response", title=title)
    ax.figure.autofmt_xdate()
    ax.figure.tight_layout()
    return ax


def _unit(table: pd.DataFrame) -> str:
    """The unit of a metric table's rows ('' when it has none)."""
    return str(table["unit"].iloc[0]) if len(table) else ""


def plot_metric_by(table: pd.DataFrame, title: str, xlabel: str | None = None,
                   ax: plt.Axes | None = None) -> plt.Axes:
    """A point with its 95% CI per group (top to bottom in the table's order), n beside each label.

    Parameters
    ----------
    table
        Output of `cxresearch.loyalty.breakdowns.metric_by` (index: group; `value`, `ci_low`, `ci_high`, `n`, `unit`).
    title
        Axes title.
    xlabel
        X-axis label; by default the table's unit.
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    ax = axes_or_new(ax, height=1.4 + 0.45 * max(len(table), 1))
    labels = [f"{g} (n={n:,})" for g, n in zip(table.index, table["n"], strict=True)]
    _interval_rows(ax, table["value"], table["ci_low"], table["ci_high"], labels, [PALETTE[0]] * len(table), 3)
    ax.set(xlabel=xlabel or _unit(table), title=title)
    ax.figure.tight_layout()
    return ax


def _interval_rows(ax: plt.Axes, value: Sequence[float], low: Sequence[float], high: Sequence[float],
                   labels: Sequence[str], colours: Sequence[str], capsize: float) -> None:
    """One point with its interval per row, top to bottom, labelled on the y axis (values in their own unit)."""
    rows = np.arange(len(labels))[::-1]
    value = np.asarray(value, dtype=float)
    err = error_bars(value, low, high)
    for row, v, e, colour in zip(rows, value, err.T, colours, strict=True):
        ax.errorbar([v], [row], xerr=e.reshape(2, 1), fmt="o", color=colour, ecolor=colour, capsize=capsize)
    ax.set_yticks(rows[::-1], list(labels)[::-1])
    ax.grid(axis="y", visible=False)


def plot_nonresponse_correction(result: WeightedNPS, truth: float | None = None,
                                ax: plt.Axes | None = None) -> plt.Axes:
    """Raw NPS of responders and IPW-corrected NPS of all customers, with 95% CIs (and the truth when known).

    Parameters
    ----------
    result
        Output of `cxresearch.loyalty.nonresponse.ipw_nps`.
    truth
        The true NPS of all customers (simulated data), drawn as a dashed line; None draws none.
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    ax = axes_or_new(ax, height=2.8)
    summary = result.summary()
    labels = [f"{name} (n={n:,})" for name, n in zip(summary.index, summary["n"], strict=True)]
    _interval_rows(ax, summary["nps"], summary["ci_low"], summary["ci_high"], labels, (PALETTE[1], PALETTE[0]), 4)
    if truth is not None:
        ax.axvline(truth, color=PALETTE[7], linestyle="--", linewidth=1, label="true NPS (simulation)")
        ax.legend(loc="best")
    ax.set(xlabel="NPS (points, -100 to 100)", title="NPS before and after correcting for non-response")
    ax.figure.tight_layout()
    return ax


def plot_score_nonresponse(results: Mapping[str, WeightedScores],
                           axes: Sequence[plt.Axes] | None = None) -> list[plt.Axes]:
    """CSAT and CES metrics of responders and IPW-corrected to every customer asked, 95% CIs, one panel per metric.

    Parameters
    ----------
    results
        Output of `cxresearch.loyalty.nonresponse.ipw_transactional`, by instrument.
    axes
        One Axes per metric of every result, in order; a new figure with a row of panels when None.

    Returns
    -------
    list of matplotlib.axes.Axes
        The Axes drawn on.
    """
    panels = [(r, metric) for r in results.values() for metric in r.table.index]
    if axes is None:
        fig, axes = new_figure(width=3.4 * len(panels), height=2.9, ncols=len(panels))
        fig.suptitle("CSAT and CES before and after correcting for non-response", fontweight="bold")
    for ax, (result, metric) in zip(axes, panels, strict=True):
        row = result.table.loc[metric]
        labels = [f"raw, responders\n(n={result.n_responders:,})", f"IPW, all asked\n(n={result.n_population:,})"]
        _interval_rows(ax, [row.raw, row.ipw], [row.raw_ci_low, row.ci_low], [row.raw_ci_high, row.ci_high],
                       labels, (PALETTE[1], PALETTE[0]), 4)
        ax.set_ylim(-0.6, 1.6)
        ax.set_xlabel(f"{row.label} ({row.unit})")
        ax.margins(x=0.3)
    axes[0].figure.tight_layout()
    return list(axes)
