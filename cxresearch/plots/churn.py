"""Churn-model figures: odds ratios, ROC/PR, calibration, gains, profit curve, driver importance, PD.

Each `plot_*(result, ..., ax=None)` draws on `ax` (a new figure when None) and returns the Axes (the first panel of
a figure with several); none sets the theme.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

from cxresearch.churn.design import INTERCEPT
from cxresearch.churn.drivers import PartialDependence, PartialDependenceBands
from cxresearch.churn.empc import EMPCResult
from cxresearch.churn.evaluation import ChurnEvaluation
from cxresearch.churn.logit import ChurnLogitResult
from cxresearch.plots import PALETTE, axes_or_new, error_bars
from cxresearch.plots.panels import panels


def plot_odds_ratios(
    result: ChurnLogitResult,
    terms: Sequence[str] | None = None,
    title: str = "What goes with churn: odds ratios (95% CI)",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Forest plot of churn odds ratios with 95% CIs on a log axis, reference line at 1 (no association).

    Parameters
    ----------
    result
        Output of `cxresearch.churn.logit.fit_churn_logit`.
    terms
        Terms to show, top to bottom; default every term except the intercept, in model order.
    title
        Axes title.
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The forest plot.
    """
    table = result.summary().drop(index=INTERCEPT)
    if terms is not None:
        table = table.loc[list(terms)]
    ax = axes_or_new(ax, width=9.0, height=1.2 + 0.38 * len(table))
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
    ax.figure.tight_layout()
    return ax


def plot_roc_pr(evaluation: ChurnEvaluation, title: str | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """ROC (left) and precision-recall (right) curves of every model, AUCs with 95% CIs in the legend; the title
    names the evaluation design (out-of-time holdout or cross-validated) unless given. Returns the ROC Axes; `ax`'s
    area is split in two when given."""
    title = title or f"Discrimination, {evaluation.design}"
    roc_ax, pr_ax = panels(ax, 2, width=11.0, height=4.6)
    metrics = evaluation.summary()
    for color, model in zip(PALETTE, evaluation.predictions, strict=False):
        row = metrics.loc[model]
        roc = evaluation.roc(model)
        roc_ax.plot(roc["fpr"], roc["tpr"], color=color,
                    label=f"{model}: {row.roc_auc:.3f} ({row.roc_auc_low:.3f}-{row.roc_auc_high:.3f})")
        pr = evaluation.precision_recall(model)
        pr_ax.plot(pr["recall"], pr["precision"], color=color,
                   label=f"{model}: {row.pr_auc:.3f} ({row.pr_auc_low:.3f}-{row.pr_auc_high:.3f})")
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="no skill: 0.5")
    pr_ax.axhline(evaluation.event_rate, color="grey", linestyle="--", linewidth=1,
                  label=f"no skill: {evaluation.event_rate:.3f} (churn share)")
    roc_ax.set(xlabel="False positive rate (share of stayers flagged)",
               ylabel="True positive rate (share of churners caught)", title="ROC curve, AUC (95% CI)")
    pr_ax.set(xlabel="Recall (share of churners caught)", ylabel="Precision (share of flagged who churn)",
              title="Precision-recall, PR-AUC (95% CI)", ylim=(0, 1))
    roc_ax.legend(loc="lower right", fontsize=9)
    pr_ax.legend(loc="upper right", fontsize=9)
    roc_ax.figure.suptitle(title, fontweight="bold")
    roc_ax.figure.tight_layout()
    return roc_ax


def plot_calibration(evaluation: ChurnEvaluation, bins: int = 10, ax: plt.Axes | None = None) -> plt.Axes:
    """Observed vs predicted churn (%) by risk decile for every model, Wilson 95% CIs, diagonal = perfect."""
    ax = axes_or_new(ax, width=6.5, height=5.5)
    metrics = evaluation.summary()
    top = 0.0
    for color, model in zip(PALETTE, evaluation.predictions, strict=False):
        cal = evaluation.calibration(model, bins) * 100
        row = metrics.loc[model]
        ax.errorbar(cal["predicted"], cal["observed"],
                    yerr=error_bars(cal["observed"], cal["observed_low"], cal["observed_high"]),
                    color=color, marker="o", capsize=3,
                    label=f"{model}: slope {row.calibration_slope:.2f}, ECE {100 * row.ece:.2f} pts")
        top = max(top, cal["observed_high"].max(), cal["predicted"].max())
    ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    ax.set(xlabel="Predicted churn in the window (%)", ylabel="Observed churn in the window (%)",
           title="Calibration by risk decile")
    ax.legend(fontsize=9)
    ax.figure.tight_layout()
    return ax


def plot_gains(evaluation: ChurnEvaluation, ax: plt.Axes | None = None) -> plt.Axes:
    """Cumulative gains: % of churners caught when targeting the riskiest x% of customers, per model."""
    ax = axes_or_new(ax, width=7.0, height=5.0)
    for color, model in zip(PALETTE, evaluation.predictions, strict=False):
        gains = evaluation.gains(model)
        x = np.r_[0, gains["cum_customers_pct"]]
        y = np.r_[0, gains["cum_churners_pct"]]
        ax.plot(x, y, color=color, marker="o",
                label=f"{model}: top-decile lift {gains['lift'].iloc[0]:.1f}x")
    ax.plot([0, 100], [0, 100], color="grey", linestyle="--", linewidth=1, label="random targeting")
    ax.set(xlabel="Customers targeted, riskiest first (%)", ylabel="Churners caught (%)",
           title="Cumulative gains by decile", xlim=(0, 100), ylim=(0, 100))
    ax.legend(fontsize=9)
    ax.figure.tight_layout()
    return ax


def plot_profit_curve(results: dict[str, EMPCResult], currency: str = "currency", ax: plt.Axes | None = None
                      ) -> plt.Axes:
    """Expected campaign profit per customer vs share targeted, per model; the EMPC optimum marked."""
    ax = axes_or_new(ax, width=8.0, height=4.8)
    for color, (model, result) in zip(PALETTE, results.items(), strict=False):
        ax.plot(100 * result.curve["fraction"], result.curve["profit"], color=color,
                label=f"{model}: EMPC {result.empc:.2f} at {100 * result.fraction:.1f}% targeted")
        ax.axvline(100 * result.fraction, color=color, linestyle=":", linewidth=1)
    ax.axhline(0, color="grey", linewidth=1)
    p = next(iter(results.values())).parameters
    ax.set(xlabel="Customers targeted, riskiest first (%)",
           ylabel=f"Expected profit per customer ({currency})",
           title=f"Retention campaign profit (CLV {p.clv:g}, incentive {p.incentive:g}, contact {p.contact:g})")
    ax.legend(fontsize=9)
    ax.figure.tight_layout()
    return ax


def plot_driver_importance(
    table: pd.DataFrame, value: str, xlabel: str, title: str = "Driver importance (95% CI)",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Horizontal bars of `table[value]` with `ci_low`/`ci_high` error bars, labelled by `table['label']`."""
    table = table.sort_values(value)
    ax = axes_or_new(ax, width=8.0, height=1.2 + 0.38 * len(table))
    rows = np.arange(len(table))
    err = np.vstack([table[value] - table["ci_low"], table["ci_high"] - table[value]]).clip(min=0)
    ax.barh(rows, table[value], xerr=err, color=PALETTE[0], capsize=3)
    ax.set_yticks(rows, list(table["label"]))
    ax.axvline(0, color="grey", linewidth=1)
    ax.set(xlabel=xlabel, title=title)
    ax.grid(axis="y", visible=False)
    ax.figure.tight_layout()
    return ax


def plot_partial_dependence(
    curves: Sequence[PartialDependence] | PartialDependenceBands, ax: plt.Axes | None = None
) -> plt.Axes:
    """Average predicted churn (%) against each feature's value, one panel per partial-dependence curve, with
    the bootstrap 95% band when the curves carry one (`churn.drivers.partial_dependence_bands`). Returns the first
    panel; `ax`'s area is split into the panels when given."""
    bands = isinstance(curves, PartialDependenceBands)
    if bands:
        n_boot, curves = curves.n_boot, curves.curves
    axes = panels(ax, len(curves), width=4.2 * len(curves), height=4.0)
    for panel, curve in zip(axes, curves, strict=True):
        table = curve.table
        panel.plot(table["value"], table["churn_pct"], color=PALETTE[0], marker="o", label="partial dependence")
        if {"ci_low", "ci_high"} <= set(table.columns):
            panel.fill_between(table["value"], table["ci_low"], table["ci_high"], color=PALETTE[0], alpha=0.2,
                               linewidth=0, label="95% band (refits)")
        panel.set(xlabel=curve.label, ylabel="Predicted churn in the window (%)")
    if bands:
        axes[0].legend(loc="upper left", fontsize=9)
    title = "Partial dependence (gradient boosting)"
    axes[0].figure.suptitle(title + (f", 95% bands from {n_boot} bootstrap refits" if bands else ""),
                            fontweight="bold")
    axes[0].figure.tight_layout()
    return axes[0]
