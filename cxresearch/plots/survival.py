"""Survival figures: Kaplan-Meier curves with an at-risk table, hazard-ratio forest, hazard ratios by tenure
(proportional-hazards check), parametric extrapolation and restricted-mean differences."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter
from mpl_toolkits.axes_grid1 import make_axes_locatable

from cxresearch.plots import PALETTE, axes_or_new
from cxresearch.survival.cox import CoxResult
from cxresearch.survival.kaplan_meier import KMResult, RMSTDifference
from cxresearch.survival.parametric import AFTComparison
from cxresearch.survival.timevarying import TenurePHCheck, TimeVaryingResult

#: Candidate tick positions of the hazard-ratio axis (reciprocal pairs, so halving and doubling look alike).
_HR_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0)
#: Fewer ticks for a wide range of ratios.
_HR_TICKS_WIDE = (0.1, 0.2, 0.33, 0.5, 0.8, 1.0, 1.25, 2.0, 3.0, 5.0, 10.0)


def plot_km_curves(
    km: KMResult, title: str | None = None, max_months: float | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Kaplan-Meier curves (% still active vs months since signup) with 95% bands and a survminer-style at-risk
    table underneath (one line per group, one column per at-risk time point).

    Parameters
    ----------
    km : `survival.kaplan_meier.kaplan_meier` result.
    title : figure title (default: "Customer survival by <group>").
    max_months : right end of the time axis (default: the last at-risk time).
    ax : Axes to draw the curves on (the at-risk table is added below it); a new figure when None.

    Returns
    -------
    plt.Axes
        The Axes of the curves.
    """
    groups = km.groups
    ax, table_ax = _curve_and_table_axes(ax, len(groups))
    # default: up to the last at-risk column, so the table's final count (often 0) is shown
    limit = max_months if max_months is not None else float(km.at_risk["time"].max())
    for i, name in enumerate(groups):
        colour = PALETTE[i % len(PALETTE)]
        curve = km.survival[(km.survival["group"] == name) & (km.survival["time"] <= limit)]
        ax.step(curve["time"], 100 * curve["survival"], where="post", color=colour, lw=2, label=name)
        ax.fill_between(
            curve["time"], 100 * curve["ci_low"], 100 * curve["ci_high"], step="post", color=colour, alpha=0.18, lw=0
        )
    ax.set_xlim(0, limit)
    ax.set_ylim(0, 102)
    ax.set_ylabel("% still active")
    ax.set_xlabel("")
    ax.tick_params(labelbottom=False)
    ax.set_title(title or ("Customer survival" + (f" by {km.group}" if km.group else "")))
    if len(groups) > 1:
        ax.legend(title=km.group, loc="lower left")
    _at_risk_rows(table_ax, km.at_risk[km.at_risk["time"] <= limit], groups)
    return ax


def _curve_and_table_axes(ax: plt.Axes | None, n_groups: int) -> tuple[plt.Axes, plt.Axes]:
    """The curves' Axes and the at-risk table's below it, sharing the time axis (a new figure when `ax` is None)."""
    if ax is None:
        fig = plt.figure(figsize=(8.0, 4.8 + 0.25 * n_groups))
        grid = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.45 + 0.25 * n_groups], hspace=0.35)
        ax = fig.add_subplot(grid[0])
        return ax, fig.add_subplot(grid[1], sharex=ax)
    table_ax = make_axes_locatable(ax).append_axes("bottom", size=f"{(0.45 + 0.25 * n_groups) / 4.0:.0%}",
                                                   pad=0.45, sharex=ax)
    return ax, table_ax


def _at_risk_rows(table_ax: plt.Axes, table: pd.DataFrame, groups: list[str]) -> None:
    """Survminer-style at-risk counts: one row per group, one column per time point."""
    for i, name in enumerate(groups):
        rows = table[table["group"] == name]
        for t, n in zip(rows["time"], rows["at_risk"]):
            table_ax.text(t, i, f"{n:,}", ha="center", va="center", fontsize=9, color=PALETTE[i % len(PALETTE)])
    table_ax.set_ylim(len(groups) - 0.5, -0.5)
    table_ax.set_yticks(range(len(groups)), groups)
    # keep the group names clear of the counts centred on month 0
    table_ax.tick_params(axis="y", length=0, pad=30)
    table_ax.set_xticks(np.unique(table["time"]))
    table_ax.grid(False)
    table_ax.set_title("Number at risk", fontsize=10, loc="left", fontweight="normal")
    table_ax.set_xlabel("Months since signup")
    for side in ("left", "top", "right"):
        table_ax.spines[side].set_visible(False)


def plot_hazard_ratios(
    cox: CoxResult | TimeVaryingResult, title: str | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Forest plot of Cox hazard ratios with 95% CIs on a log axis (1 = no effect; >1 = faster churn).

    Parameters
    ----------
    cox : a Cox fit (`survival.cox.fit_cox`) or a time-varying model (`survival.timevarying`).
    title : Axes title (default: names the model, its size and, for a Cox fit, its concordance).
    ax : Axes to draw on; a new figure when None.

    Returns
    -------
    plt.Axes
        The forest plot, one row per term.
    """
    table = cox.summary()
    created = ax is None
    ax, y = _forest(ax, table, ("hazard_ratio", "hr_ci_low", "hr_ci_high"), null=1.0, height=1.2)
    lo, hi = min(table["hr_ci_low"].min(), 1.0), max(table["hr_ci_high"].max(), 1.0)
    _ratio_axis(ax, lo, hi, _HR_TICKS)
    ax.set_yticks(y, [_term_label(t, cox.reference_levels) for t in table.index])
    ax.set_xlabel("Hazard ratio of churn (log scale, 95% CI)")
    if title is None:
        title = (f"What speeds up churn (Cox model, n = {cox.n:,}, C = {cox.concordance:.2f})"
                 if isinstance(cox, CoxResult) else f"What speeds up churn ({cox.method}, {cox.n_customers:,} customers)")
    ax.set_title(title)
    if created:
        ax.figure.tight_layout()
    return ax


def plot_tenure_drift(check: TenurePHCheck, title: str | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """Per term, the hazard ratio (95% CI, log axis) at each of the check's two tenures: where the two intervals
    part, the ratio changes with tenure; terms flagged by the Holm-adjusted test are marked with an asterisk.

    Parameters
    ----------
    check : `survival.timevarying.check_tenure_proportional_hazards` result.
    title : Axes title.
    ax : Axes to draw on; a new figure (with the legend in a strip below the axes) when None.

    Returns
    -------
    plt.Axes
        Two intervals per term, one per tenure.
    """
    table = check.summary()
    height = 1.8 + 0.5 * len(table)
    created = ax is None
    ax = axes_or_new(ax, width=8.0, height=height)
    y = np.arange(len(table))[::-1]
    for i, (t, offset) in enumerate(zip(check.tenures, (0.15, -0.15))):
        hr, lo, hi = table[f"hr_at_{t}"], table[f"hr_ci_low_at_{t}"], table[f"hr_ci_high_at_{t}"]
        ax.errorbar(hr, y + offset, xerr=[hr - lo, hi - hr], fmt="o" if i == 0 else "s", color=PALETTE[i],
                    ecolor=PALETTE[i], capsize=3, label=f"at {t} months of tenure")
    ax.axvline(1.0, color="0.4", lw=1, ls="--")
    lo = min(*(table[f"hr_ci_low_at_{t}"].min() for t in check.tenures), 1.0)
    hi = max(*(table[f"hr_ci_high_at_{t}"].max() for t in check.tenures), 1.0)
    # over a wide range the close ticks (0.9, 1.1, ...) would overprint each other
    _ratio_axis(ax, lo, hi, _HR_TICKS if hi / lo < 4 else _HR_TICKS_WIDE)
    ax.set_yticks(y, [_term_label(t, check.reference_levels) + (" *" if flagged else "")
                      for t, flagged in zip(table.index, table["violated"])])
    ax.set_xlabel("Hazard ratio of churn (log scale, 95% CI)")
    # right-aligned: long term labels push the axes right, and a centred title would run off the figure
    ax.set_title(title or "Hazard ratios at two tenures (* = changes with tenure)", loc="right")
    if not created:
        ax.legend(fontsize=9)
        return ax
    # below the axis, in a strip of fixed height: inside, it would sit on some term's intervals
    ax.figure.legend(loc="lower center", ncol=2, fontsize=9, frameon=False)
    ax.figure.tight_layout(rect=(0, 0.35 / height, 1, 1))
    return ax


def plot_aft_extrapolation(
    aft: AFTComparison, km: KMResult, horizon_months: float, model: str | None = None, title: str | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Kaplan-Meier steps (observed) with the fitted AFT curve and its 95% band continued to `horizon_months`
    (% still active vs months since signup); a dotted line marks the end of the observed follow-up.

    Parameters
    ----------
    aft : `survival.parametric.fit_aft` result.
    km : Kaplan-Meier curves of the same groups.
    horizon_months : right end of the time axis (months since signup).
    model : distribution drawn (default: the best by AIC).
    title : Axes title.
    ax : Axes to draw on; a new figure when None.

    Returns
    -------
    plt.Axes
        Observed and extrapolated curves per group.
    """
    model = model or aft.best
    fitted = aft.survival(np.linspace(0.0, horizon_months, 241)[1:], model=model)
    created = ax is None
    ax = axes_or_new(ax, width=8.0, height=4.8)
    for i, name in enumerate(aft.groups):
        colour = PALETTE[i % len(PALETTE)]
        observed = km.survival[km.survival["group"] == name]
        ax.step(observed["time"], 100 * observed["survival"], where="post", color=colour, lw=1.5, alpha=0.8,
                label=f"{name}: Kaplan-Meier")
        curve = fitted[fitted["group"] == name]
        ax.plot(curve["time"], 100 * curve["survival"], color=colour, lw=2, ls="--", label=f"{name}: {model} AFT")
        ax.fill_between(curve["time"], 100 * curve["ci_low"], 100 * curve["ci_high"], color=colour, alpha=0.15, lw=0)
    ax.axvline(aft.max_follow_up, color="0.4", lw=1, ls=":")
    ax.annotate("end of follow-up", (aft.max_follow_up, 98), ha="right", va="top", fontsize=9, color="0.3")
    ax.set_xlim(0, horizon_months)
    ax.set_ylim(0, 102)
    ax.set_xlabel("Months since signup")
    ax.set_ylabel("% still active")
    ax.set_title(title or f"Lifetime extrapolated to {horizon_months:g} months ({model} AFT, lowest AIC)")
    ax.legend(fontsize=8, ncol=2 if len(aft.groups) > 1 else 1, loc="upper right")
    if created:
        ax.figure.tight_layout()
    return ax


def plot_rmst_differences(diff: RMSTDifference, title: str | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """Differences in restricted mean lifetime (months, 95% CI) vs the reference group.

    Parameters
    ----------
    diff : `survival.kaplan_meier.rmst_difference` result.
    title : Axes title.
    ax : Axes to draw on; a new figure when None.

    Returns
    -------
    plt.Axes
        One interval per group compared with the reference.
    """
    table = diff.summary()
    created = ax is None
    ax, y = _forest(ax, table, ("difference", "ci_low", "ci_high"), null=0.0, height=1.4)
    ax.set_yticks(y, [f"{g} vs {r}" for g, r in zip(table["group"], table["reference"])])
    ax.set_xlabel(f"Extra months active within the first {diff.horizon_months:g} months (95% CI)")
    ax.set_title(title or f"Restricted mean lifetime differences over {diff.horizon_months:g} months")
    if created:
        ax.figure.tight_layout()
    return ax


def _forest(
    ax: plt.Axes | None, table: pd.DataFrame, columns: tuple[str, str, str], null: float, height: float
) -> tuple[plt.Axes, np.ndarray]:
    """One point with its 95% CI per row of `table` (estimate, low, high `columns`), top to bottom, and a dashed
    line at `null` (no effect); a new figure `height` inches plus 0.45 per row tall when `ax` is None."""
    value, low, high = (table[c] for c in columns)
    ax = axes_or_new(ax, width=8.0, height=height + 0.45 * len(table))
    y = np.arange(len(table))[::-1]
    ax.errorbar(value, y, fmt="o", color=PALETTE[0], ecolor=PALETTE[0], capsize=3, xerr=[value - low, high - value])
    ax.axvline(null, color="0.4", lw=1, ls="--")
    return ax, y


def _ratio_axis(ax: plt.Axes, lo: float, hi: float, candidates: tuple[float, ...]) -> None:
    """Log x axis with plain-number ticks between `lo` and `hi`: readers compare ratios like 0.8 and 1.25, not
    powers of ten."""
    ax.set_xscale("log")
    ticks = [v for v in candidates if lo / 1.1 <= v <= hi * 1.1]
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _term_label(term: str, reference_levels: dict[str, str]) -> str:
    """'column=level vs reference' for a categorical level, the term itself otherwise."""
    column = term.split("=", 1)[0]
    return f"{term} vs {reference_levels[column]}" if column in reference_levels else term
