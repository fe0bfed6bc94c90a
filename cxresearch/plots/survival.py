"""Survival figures: Kaplan-Meier curves with an at-risk table, hazard-ratio forest, hazard ratios by tenure
(proportional-hazards check), parametric extrapolation and restricted-mean differences."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from cxresearch.plots import PALETTE, new_figure, set_theme
from cxresearch.survival.estimators import CoxResult, KMResult
from cxresearch.survival.parametric import AFTComparison
from cxresearch.survival.timevarying import TenurePHCheck, TimeVaryingResult

#: Candidate tick positions of the hazard-ratio axis (reciprocal pairs, so halving and doubling look alike).
_HR_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0)


def km_curves(km: KMResult, title: str | None = None, max_months: float | None = None) -> plt.Figure:
    """Kaplan-Meier curves (% still active vs months since signup) with 95% bands and a survminer-style at-risk
    table underneath (one line per group, one column per at-risk time point)."""
    set_theme()
    groups = km.groups
    fig = plt.figure(figsize=(8.0, 4.8 + 0.25 * len(groups)))
    grid = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.45 + 0.25 * len(groups)], hspace=0.35)
    ax = fig.add_subplot(grid[0])
    table_ax = fig.add_subplot(grid[1], sharex=ax)
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

    table = km.at_risk[km.at_risk["time"] <= limit]
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
    return fig


def hazard_ratio_forest(cox: CoxResult | TimeVaryingResult, title: str | None = None) -> plt.Figure:
    """Forest plot of Cox hazard ratios with 95% CIs on a log axis (1 = no effect; >1 = faster churn)."""
    table = cox.summary()
    fig, (ax,) = new_figure(width=8.0, height=1.2 + 0.45 * len(table))
    y = np.arange(len(table))[::-1]
    ax.errorbar(
        table["hazard_ratio"],
        y,
        xerr=[table["hazard_ratio"] - table["hr_ci_low"], table["hr_ci_high"] - table["hazard_ratio"]],
        fmt="o",
        color=PALETTE[0],
        ecolor=PALETTE[0],
        capsize=3,
    )
    ax.axvline(1.0, color="0.4", lw=1, ls="--")
    ax.set_xscale("log")
    # plain-number ticks: readers compare ratios like 0.8 and 1.25, not powers of ten
    lo, hi = min(table["hr_ci_low"].min(), 1.0), max(table["hr_ci_high"].max(), 1.0)
    ticks = [v for v in _HR_TICKS if lo / 1.1 <= v <= hi * 1.1]
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    labels = [
        f"{t} vs {cox.reference_levels[t.split('=', 1)[0]]}" if t.split("=", 1)[0] in cox.reference_levels else t
        for t in table.index
    ]
    ax.set_yticks(y, labels)
    ax.set_xlabel("Hazard ratio of churn (log scale, 95% CI)")
    if title is None:
        title = (f"What speeds up churn (Cox model, n = {cox.n:,}, C = {cox.concordance:.2f})"
                 if isinstance(cox, CoxResult) else f"What speeds up churn ({cox.method}, {cox.n_customers:,} customers)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def tenure_drift_forest(check: TenurePHCheck, title: str | None = None) -> plt.Figure:
    """Per term, the hazard ratio (95% CI, log axis) at each of the check's two tenures: where the two intervals
    part, the ratio changes with tenure; terms flagged by the Holm-adjusted test are marked with an asterisk."""
    table = check.summary()
    height = 1.8 + 0.5 * len(table)
    fig, (ax,) = new_figure(width=8.0, height=height)
    y = np.arange(len(table))[::-1]
    for i, (t, offset) in enumerate(zip(check.tenures, (0.15, -0.15))):
        hr, lo, hi = table[f"hr_at_{t}"], table[f"hr_ci_low_at_{t}"], table[f"hr_ci_high_at_{t}"]
        ax.errorbar(hr, y + offset, xerr=[hr - lo, hi - hr], fmt="o" if i == 0 else "s", color=PALETTE[i],
                    ecolor=PALETTE[i], capsize=3, label=f"at {t} months of tenure")
    ax.axvline(1.0, color="0.4", lw=1, ls="--")
    ax.set_xscale("log")
    lows = [table[f"hr_ci_low_at_{t}"].min() for t in check.tenures]
    highs = [table[f"hr_ci_high_at_{t}"].max() for t in check.tenures]
    lo, hi = min(*lows, 1.0), max(*highs, 1.0)
    # over a wide range the close ticks (0.9, 1.1, ...) would overprint each other
    candidates = _HR_TICKS if hi / lo < 4 else (0.1, 0.2, 0.33, 0.5, 0.8, 1.0, 1.25, 2.0, 3.0, 5.0, 10.0)
    ticks = [v for v in candidates if lo / 1.1 <= v <= hi * 1.1]
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    labels = [
        (f"{t} vs {check.reference_levels[t.split('=', 1)[0]]}" if t.split("=", 1)[0] in check.reference_levels
         else t) + (" *" if flagged else "")
        for t, flagged in zip(table.index, table["violated"])
    ]
    ax.set_yticks(y, labels)
    ax.set_xlabel("Hazard ratio of churn (log scale, 95% CI)")
    # below the axis, in a strip of fixed height: inside, it would sit on some term's intervals
    fig.legend(loc="lower center", ncol=2, fontsize=9, frameon=False)
    # right-aligned: long term labels push the axes right, and a centred title would run off the figure
    ax.set_title(title or "Hazard ratios at two tenures (* = changes with tenure)", loc="right")
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1))
    return fig


def aft_extrapolation(
    aft: AFTComparison, km: KMResult, horizon_months: float, model: str | None = None, title: str | None = None
) -> plt.Figure:
    """Kaplan-Meier steps (observed) with the fitted AFT curve and its 95% band continued to `horizon_months`
    (% still active vs months since signup); a dotted line marks the end of the observed follow-up."""
    model = model or aft.best
    times = np.linspace(0.0, horizon_months, 241)
    fitted = aft.survival(times[1:], model=model)
    fig, (ax,) = new_figure(width=8.0, height=4.8)
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
    fig.tight_layout()
    return fig


def rmst_difference_forest(diff: pd.DataFrame, title: str | None = None) -> plt.Figure:
    """Differences in restricted mean lifetime (months, 95% CI) vs the reference group, from `rmst_difference`."""
    fig, (ax,) = new_figure(width=8.0, height=1.4 + 0.45 * len(diff))
    y = np.arange(len(diff))[::-1]
    ax.errorbar(diff["difference"], y, xerr=[diff["difference"] - diff["ci_low"], diff["ci_high"] - diff["difference"]],
                fmt="o", color=PALETTE[0], ecolor=PALETTE[0], capsize=3)
    ax.axvline(0.0, color="0.4", lw=1, ls="--")
    ax.set_yticks(y, [f"{g} vs {r}" for g, r in zip(diff["group"], diff["reference"])])
    horizon = float(diff["horizon"].iloc[0])
    ax.set_xlabel(f"Extra months active within the first {horizon:g} months (95% CI)")
    ax.set_title(title or f"Restricted mean lifetime differences over {horizon:g} months")
    fig.tight_layout()
    return fig
