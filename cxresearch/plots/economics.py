"""Economics figures: CLV by segment, acquisition vs retention cost, sBG and BG/NBD fit checks (conditional
expectations, weekly tracking), BG/NBD x Gamma-Gamma CLV distribution, campaign profit curve, tornado chart.

Each `plot_*(result, ..., ax=None)` draws on `ax` (a new figure when None) and returns the Axes (the first panel of
a figure with several); none sets the theme.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxresearch.economics import (
    CampaignComparison,
    CampaignResult,
    CLVResult,
    MonteCarloResult,
    RetentionEconomics,
    SBGResult,
)
from cxresearch.economics.bgnbd import HoldoutByFrequency, TrackingResult
from cxresearch.economics.btyd_clv import BTYDCLVResult
from cxresearch.economics.sensitivity import AssumedRange, cost_ratio_phrase
from cxresearch.plots import PALETTE, axes_or_new
from cxresearch.plots.panels import panels


def plot_clv_by_segment(clv: CLVResult, title: str | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """Bar per group of customer lifetime value (currency) with 95% bootstrap CI error bars."""
    table = clv.summary()
    ax = axes_or_new(ax, width=max(7.0, 1.2 * len(table) + 2.5))
    x = np.arange(len(table))
    ax.bar(x, table["clv"], color=[PALETTE[i % len(PALETTE)] for i in x], width=0.6)
    ax.errorbar(x, table["clv"], yerr=_yerr(table, "clv"), fmt="none", ecolor="0.2", capsize=4)
    ax.set_xticks(x, [f"{g}\n(n = {n:,})" for g, n in zip(table["group"], table["n"])])
    ax.set_ylabel(f"CLV per customer ({clv.currency})")
    ax.set_xlabel(clv.group or "")
    ax.set_title(
        title or f"Customer lifetime value ({clv.horizon_months} months, {clv.monthly_discount_rate:.1%}/month discount)",
        fontsize=11,
    )
    ax.figure.tight_layout()
    return ax


def plot_acquisition_vs_retention(
    econ: RetentionEconomics, title: str | None = None, ratio_range: AssumedRange | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Bars (currency) of the cost to acquire a customer, overall and by channel, vs the cost to save one.

    Acquisition bars carry their measured 95% CI; the retention bar, hatched when the save rate is assumed,
    spans the cost per save over the save rate's plausible values (a range over an assumption, not a CI).
    """
    rows = [("Acquire (all)", econ.acquisition_cost.value, econ.acquisition_cost.ci_low, econ.acquisition_cost.ci_high)]
    rows += [
        (f"Acquire: {r.channel}", r.acquisition_cost, r.ci_low, r.ci_high)
        for r in econ.acquisition_by_channel.itertuples()
    ]
    low, high = econ.save_rate_range
    save_label = ("Retain (per save)" if econ.save_rate_measured else
                  f"Retain (per save),\nsave rate assumed\n{low:.0%}-{high:.0%}")
    rows.append((save_label, econ.retention_cost_per_save.value, econ.cost_per_contact / high,
                 econ.cost_per_contact / low))
    table = pd.DataFrame(rows, columns=["label", "cost", "ci_low", "ci_high"])
    colours = [PALETTE[0]] + [PALETTE[5]] * (len(table) - 2) + [PALETTE[1]]
    ax = axes_or_new(ax, width=max(6.0, 1.3 * len(table) + 2.0))
    x = np.arange(len(table))
    bars = ax.bar(x, table["cost"], color=colours, width=0.6)
    if not econ.save_rate_measured:
        bars[-1].set_hatch("//")
    ax.errorbar(x, table["cost"], yerr=_yerr(table, "cost"), fmt="none", ecolor="0.2", capsize=4)
    ax.set_xticks(x, table["label"], rotation=15 if len(table) > 4 else 0)
    ax.set_ylabel(f"Cost per customer ({econ.acquisition_cost.unit})")
    ax.set_title(title or _ratio_title(econ, ratio_range), fontsize=11)
    ax.figure.tight_layout()
    return ax


def _ratio_title(econ: RetentionEconomics, ratio_range: AssumedRange | None) -> str:
    """The cost ratio in the title: its range over the assumptions (or its CI when the save rate was measured)
    and the save rate the "Nx" claim needs."""
    head = textwrap.fill(f"Acquiring costs {cost_ratio_phrase(econ, ratio_range)} what retaining does", 75)
    need = econ.claim_save_rate.value
    claim = (f"{econ.claim_multiple:g}x would need a save rate of {need:.0f}%: not possible" if need > 100 else
             f"{econ.claim_multiple:g}x needs a save rate above {need:.1f}%")
    return f"{head}\n{claim}"


def _yerr(table: pd.DataFrame, column: str) -> np.ndarray:
    """Asymmetric error-bar lengths from ci_low/ci_high; zero where no interval is known."""
    low = (table[column] - table["ci_low"].astype(float)).fillna(0.0).clip(lower=0)
    high = (table["ci_high"].astype(float) - table[column]).fillna(0.0).clip(lower=0)
    return np.vstack([low.to_numpy(), high.to_numpy()])


def plot_sbg_projection(
    sbg: SBGResult,
    observed: list | None = None,
    periods: int | None = None,
    period_label: str = "Months since signup",
    title: str | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Observed vs sBG-projected % of a cohort still active (left) and % renewing each period (right).

    `observed`: full cohort histories when `sbg` was fitted on their first periods only; the shaded region is
    then the calibration period and everything to its right is a true projection. Returns the left Axes; `ax`'s
    area is split in two when given.
    """
    cohorts = observed if observed is not None else sbg.alive
    periods = periods or max(len(a) for a in cohorts) - 1
    table = sbg.projection(periods, observed)
    left, right = panels(ax, 2, width=11.0)
    for panel, col, label in ((left, "survival", "% still active"), (right, "retention", "% of active who renew")):
        panel.plot(table["period"], table[f"observed_{col}_pct"], "o", ms=3.5, color=PALETTE[0], label="observed")
        panel.plot(table["period"], table[f"{col}_pct"], "-", color=PALETTE[1], label="sBG")
        panel.axvspan(0, sbg.n_periods, color="0.92", zorder=0, label="calibration")
        panel.set_xlabel(period_label)
        panel.set_ylabel(label)
    left.legend(loc="upper right")
    left.figure.suptitle(title or f"Shifted-beta-geometric: alpha {sbg.alpha:.2f}, beta {sbg.beta:.2f}", fontsize=11)
    left.figure.tight_layout()
    return left


def plot_bgnbd_holdout(holdout: HoldoutByFrequency, title: str | None = None, ax: plt.Axes | None = None
                       ) -> plt.Axes:
    """Mean holdout purchases per customer by calibration repeat purchases: actual vs BG/NBD conditional forecast.

    `holdout` comes from `bgnbd.holdout_by_frequency`; its last bin collects `max_frequency` and more (Fader,
    Hardie & Lee 2005, Fig. 5).
    """
    table, max_frequency = holdout.table, holdout.max_frequency
    ax = axes_or_new(ax, width=8.0)
    x = table.index.to_numpy()
    ax.plot(x, table["actual"], "o-", color=PALETTE[0], label="actual")
    ax.plot(x, table["expected"], "s--", color=PALETTE[1], label="BG/NBD forecast")
    labels = [f"{int(b)}{'+' if b == max_frequency else ''}\n(n = {n:,})" for b, n in zip(x, table["n"])]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_xlabel("Repeat purchases in the calibration period")
    ax.set_ylabel("Mean purchases per customer in the holdout")
    ax.legend(loc="upper left")
    ax.set_title(title or "Calibration vs holdout: conditional expectations", fontsize=11)
    ax.figure.tight_layout()
    return ax


def plot_bgnbd_tracking(tracking: TrackingResult, title: str | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """Cumulative (left) and per-period (right) repeat purchases, actual vs BG/NBD, calibration end marked; returns
    the left Axes (`ax`'s area is split in two when given).

    Fader, Hardie & Lee (2005), Figures 3 and 4: expected purchases sum E[X(t)] over customers by first-purchase day.
    """
    table = tracking.periods
    unit = "week" if tracking.period_days == 7 else f"{tracking.period_days:g}-day period"
    cum, inc = panels(ax, 2, width=12.0)
    for panel, col, label in ((cum, "_cumulative", "Cumulative repeat purchases"),
                           (inc, "", f"Repeat purchases per {unit}")):
        panel.plot(table["period"], table[f"actual{col}"], "-", color=PALETTE[0], label="actual")
        panel.plot(table["period"], table[f"expected{col}"], "--", color=PALETTE[1], label="BG/NBD expected")
        panel.axvline(tracking.calibration_periods, color="0.4", lw=1, ls=":")
        panel.set_xlabel(f"{unit.capitalize()}s since the cohort's first purchase")
        panel.set_ylabel(f"{label} (count)")
    cum.annotate("end of calibration", (tracking.calibration_periods, 0), textcoords="offset points",
                 xytext=(-4, 8), rotation=90, ha="right", va="bottom", fontsize=8, color="0.3")
    cum.legend(loc="upper left")
    totals = tracking.totals()
    error = f"; holdout forecast {totals.loc['holdout', 'error_pct']:+.1f}%" if "holdout" in totals.index else ""
    cum.figure.suptitle(title or f"Tracking repeat purchases of {tracking.n_customers:,} customers{error}",
                        fontsize=11)
    cum.figure.tight_layout()
    return cum


def plot_btyd_clv_distribution(clv: BTYDCLVResult, title: str | None = None, ax: plt.Axes | None = None
                               ) -> plt.Axes:
    """Histogram of per-customer residual CLV (currency, log scale) and the share of value by customer rank;
    returns the histogram's Axes (`ax`'s area is split in two when given)."""
    values = clv.customers["clv"].to_numpy()
    hist, conc = panels(ax, 2, width=12.0)
    positive = values[values > 0]
    # customers almost surely gone have near-zero value: fold the lowest 1% into the first bar to keep the scale
    low = np.percentile(positive, 1) if len(positive) else 1.0
    bins = np.geomspace(low, max(positive.max(), low * 1.01), 40) if len(positive) else 10
    hist.hist(np.clip(positive, low, None), bins=bins, color=PALETTE[5])
    hist.set_xscale("log")
    hist.axvline(values.mean(), color=PALETTE[3], lw=1, ls="--", label=f"mean {values.mean():,.1f}")
    hist.set_xlabel(f"Residual CLV per customer ({clv.currency}, log scale)")
    hist.set_ylabel("Customers")
    hist.legend(loc="upper right")
    ranked = np.sort(values)[::-1]
    share = 100 * np.cumsum(ranked) / ranked.sum() if ranked.sum() > 0 else np.zeros_like(ranked)
    customers_pct = 100 * np.arange(1, len(ranked) + 1) / len(ranked)
    conc.plot(customers_pct, share, color=PALETTE[0])
    conc.plot([0, 100], [0, 100], color="0.6", lw=0.8, ls=":")
    conc.axvline(10, color=PALETTE[3], lw=1, ls="--")
    conc.annotate(f"top 10%: {clv.top_decile_share:.0f}% of value", (10, clv.top_decile_share),
                  textcoords="offset points", xytext=(8, -14), fontsize=9)
    conc.set_xlabel("Customers, most valuable first (%)")
    conc.set_ylabel("Share of total residual CLV (%)")
    hist.figure.suptitle(title or f"Residual value over {clv.horizon_months} months (margin {clv.margin:.0%}, "
                         f"{clv.monthly_discount_rate:.2%}/month discount)", fontsize=11)
    hist.figure.tight_layout()
    return hist


def plot_campaign_profit_curve(campaign: CampaignResult, title: str | None = None, ax: plt.Axes | None = None
                               ) -> plt.Axes:
    """Expected profit (currency) of a retention campaign against its budget, customers ranked by expected profit."""
    curve = campaign.curve
    best = campaign.optimum
    ax = axes_or_new(ax, width=8.0)
    ax.plot(curve["spend"], curve["expected_profit"], color=PALETTE[0])
    ax.axhline(0, color="0.4", lw=0.8)
    ax.plot([best.spend], [best.expected_profit], "o", color=PALETTE[3])
    ax.annotate(f"optimum: {best.spend:,.0f} spent on {int(best.n_contacted):,} customers\n"
                f"profit {best.expected_profit:,.0f}, ROI {100 * best.roi:.0f}%",
                (best.spend, best.expected_profit), textcoords="offset points", xytext=(10, -30), fontsize=9)
    ax.set_xlabel(f"Retention budget ({campaign.currency})")
    ax.set_ylabel(f"Expected profit ({campaign.currency})")
    ax.set_title(title or f"Retention campaign: profit by budget ({campaign.uplift_text})", fontsize=11)
    ax.figure.tight_layout()
    return ax


def plot_campaign_comparison(comparison: CampaignComparison, title: str | None = None, ax: plt.Axes | None = None
                             ) -> plt.Axes:
    """Expected profit (currency) against budget of a campaign with one save rate and with a save rate per
    customer, each optimum marked with its bootstrap 95% CI."""
    ax = axes_or_new(ax, width=8.0)
    rows = comparison.summary().set_index("campaign")
    for color, (label, result) in zip(PALETTE, (("one save rate", comparison.flat),
                                                ("save rate per customer", comparison.each))):
        best, row = result.optimum, rows.loc[label]
        ax.plot(result.curve["spend"], result.curve["expected_profit"], color=color, label=label)
        ax.plot([best.spend], [best.expected_profit], "o", color=color)
        if np.isfinite(row["ci_low"]):  # a percentile interval need not hold the point: drawn as a bar
            ax.vlines(best.spend, row["ci_low"], row["ci_high"], color=color, lw=2, alpha=0.6)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.legend(frameon=False)
    ax.set_xlabel(f"Retention budget ({comparison.each.currency})")
    ax.set_ylabel(f"Expected profit ({comparison.each.currency})")
    ax.set_title(title or "Retention campaign: one save rate vs a save rate per customer (optimum, 95% CI)",
                 fontsize=11)
    ax.figure.tight_layout()
    return ax


def plot_tornado(mc: MonteCarloResult, threshold: float = 0.0, title: str | None = None, ax: plt.Axes | None = None
                 ) -> plt.Axes:
    """One-way sensitivity bars (output at each input's low and high value) and the Monte Carlo distribution;
    returns the bars' Axes (`ax`'s area is split in two when given)."""
    table = mc.tornado.iloc[::-1]  # largest swing on top
    ax, hist = panels(ax, 2, width=12.0)
    y = np.arange(len(table))
    for colour, col, name in ((PALETTE[0], "output_low", "input low"), (PALETTE[1], "output_high", "input high")):
        ax.barh(y, table[col] - mc.base, left=mc.base, color=colour, height=0.6, label=name)
    ax.axvline(mc.base, color="0.2", lw=1)
    ax.axvline(threshold, color=PALETTE[3], lw=1, ls="--")
    ax.set_yticks(y, [f"{r.label}\n({r.low:,.3g} to {r.high:,.3g})" for r in table.itertuples()], fontsize=8)
    ax.set_xlabel(textwrap.fill(f"{mc.output_label} ({mc.output_unit})" if mc.output_unit else mc.output_label, 45))
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("One-way sensitivity (others at base)", fontsize=11)
    out = mc.draws["output"]
    hist.hist(out, bins=50, color=PALETTE[5])
    hist.axvline(threshold, color=PALETTE[3], lw=1, ls="--")
    p = mc.probability(threshold)
    hist.set_xlabel(ax.get_xlabel())
    hist.set_ylabel("Monte Carlo draws")
    hist.set_title(f"P(> {threshold:g}) = {p.value:.0f}% over {len(out):,} draws", fontsize=11)
    if title:
        ax.figure.suptitle(title, fontsize=11)
    ax.figure.tight_layout()
    return ax
