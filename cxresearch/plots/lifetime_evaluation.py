"""Lifetime-model evaluation figures: calibration at a horizon and the comparison of models with the reference."""

from __future__ import annotations

import matplotlib.pyplot as plt

from cxresearch.plots import PALETTE, axes_or_new, error_bars
from cxresearch.survival.calibration import CalibrationResult
from cxresearch.survival.model_comparison import KM, LifetimeModelComparison


def plot_calibration(result: CalibrationResult, ax: plt.Axes | None = None) -> plt.Axes:
    """Observed (Kaplan-Meier, 95% CI) against predicted % still active at the horizon, one point per risk group."""
    ax = axes_or_new(ax, 5.5, 5.0)
    table = result.table
    ax.plot([0, 100], [0, 100], color="grey", lw=1, ls="--", label="perfect calibration")
    ax.errorbar(100 * table["predicted"], 100 * table["observed"],
                yerr=100 * error_bars(table["observed"], table["ci_low"], table["ci_high"]),
                fmt="o", color=PALETTE[0], capsize=3, label="risk group (observed, 95% CI)")
    low = 100 * min(table["predicted"].min(), table["ci_low"].min())
    ax.set_xlim(max(0.0, low - 5), 100)
    ax.set_ylim(max(0.0, low - 5), 100)
    ax.set_xlabel(f"Predicted % still active at {result.horizon:g} months")
    ax.set_ylabel(f"Observed % still active at {result.horizon:g} months")
    ax.set_title(f"Calibration of the {result.model} model")
    ax.legend(loc="upper left")
    return ax


def plot_model_comparison(result: LifetimeModelComparison, ax: plt.Axes | None = None) -> plt.Axes:
    """Each model's Uno's C (ranking) against its IBS skill over Kaplan-Meier (probabilities), with 95% CIs."""
    ax = axes_or_new(ax, 7.0, 5.0)
    table = result.summary()
    for i, model in enumerate(table["model"].unique()):
        c = table[(table["model"] == model) & (table["metric"] == "uno_c")].iloc[0]
        s = table[(table["model"] == model) & (table["metric"] == "ibs_skill")].iloc[0]
        colour = "grey" if model == KM else PALETTE[i % len(PALETTE)]
        ax.errorbar(100 * s["estimate"], c["estimate"],
                    xerr=100 * error_bars([s["estimate"]], [s["ci_low"]], [s["ci_high"]]),
                    yerr=error_bars([c["estimate"]], [c["ci_low"]], [c["ci_high"]]),
                    fmt="o", color=colour, capsize=3, label=model + (" (reference)" if model == KM else ""))
    ax.axvline(0.0, color="grey", lw=1, ls="--")
    ax.axhline(0.5, color="grey", lw=1, ls="--")
    ax.set_xlabel("Skill: % lower integrated Brier score than Kaplan-Meier (better probabilities →)")
    ax.set_ylabel("Uno's C (better ranking →)")
    ax.set_title("Lifetime models on held-out customers")
    ax.legend(loc="lower right", fontsize=9)
    ax.margins(x=0.15, y=0.1)
    return ax
