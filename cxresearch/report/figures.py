"""Executive-summary figures, drawn only from the results files (never from re-run analyses).

Each figure draws only rows with a number: a missing value or interval end (a median not reached, a figure not
estimable) drops the row or its error bar, and a figure with nothing left to draw is None, so no empty axes show.
Each draws on `ax` (a new figure when None) and returns the Axes.

Parameters shared by the figures: `suite`, the run's results files (`SuiteResults`); `ax`, the Axes to draw on, a
new figure when None; `min_cell_size`, groups or segments with fewer customers are not drawn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from cxresearch.plots import PALETTE, axes_or_new
from cxresearch.plots.competing import cause_colour
from cxresearch.plots.experiments import plot_campaign_effects
from cxresearch.plots.loyalty import plot_churn_by_level
from cxresearch.plots.value_at_stake import plot_fix_first
from cxresearch.report.cx_drivers import driver_effects
from cxresearch.report.suite_results import LOYALTY, NO_CURRENCY, SuiteResults, has_figure
from cxresearch.survival.groups import ALL


def plot_churn_by_nps_group(
    suite: SuiteResults, window_months: float | None = None, min_cell_size: int = 10, ax: plt.Axes | None = None
) -> plt.Axes | None:
    """Churn rate (%) by latest NPS group with 95% CIs (groups under `min_cell_size` customers hidden), titled with
    the window the rates cover.

    Parameters
    ----------
    suite, min_cell_size, ax
        See the module docstring.
    window_months
        The window the rates cover, for the axis label; by default notebook 04's.

    Returns
    -------
    matplotlib.axes.Axes or None
        Bars of churn per NPS group, or None when notebook 04 recorded no group with a rate.
    """
    table = suite.table(LOYALTY, "churn_by_nps_group", min_cell_size)
    table = None if table is None or "n" not in table else _drawable(table, "churn_pct", 0.0, 100.0)
    if table is None:
        return None
    table = table[np.isfinite(pd.to_numeric(table["n"], errors="coerce"))].astype({"n": int})
    if table.empty:
        return None
    window = suite.churn_window(LOYALTY)
    if window_months is None and window is not None:
        window_months = window.months
    title = "Churn by latest NPS group" + (f": churned {window.words()}" if window is not None else "")
    return plot_churn_by_level(table.set_index(table.columns[0]), window_months=window_months, title=title, ax=ax)


def plot_lifetime_curves(suite: SuiteResults, segment: str = "contract", min_cell_size: int = 10,
                         ax: plt.Axes | None = None) -> plt.Axes | None:
    """Share of customers still active (%) by months since sign-up, per segment.

    Parameters
    ----------
    suite, min_cell_size, ax
        See the module docstring.
    segment
        The segment column notebook 03 split its curves by.

    Returns
    -------
    matplotlib.axes.Axes or None
        One curve per segment, or None when notebook 03 recorded no curve for `segment`.
    """
    table = suite.table("03_customer_lifetime", f"km_by_{segment}")
    sizes = suite.table("03_customer_lifetime", f"medians_by_{segment}", min_cell_size)
    if table is None or table.empty or sizes is None:
        return None
    table = _drawable(table[table["group"].isin(sizes["group"])], "survival", 0.0, 1.0)
    if table.empty:
        return None
    ax = axes_or_new(ax)
    for colour, (group, curve) in zip(PALETTE, table.groupby("group", sort=True)):
        ax.step(curve["time"], 100 * curve["survival"], where="post", color=colour, label=str(group), linewidth=2)
        ax.fill_between(curve["time"], 100 * curve["ci_low"], 100 * curve["ci_high"], step="post",
                        color=colour, alpha=0.15, linewidth=0)
    ax.set_xlabel("months since sign-up")
    ax.set_ylabel("% of customers still active")
    ax.set_ylim(0, 101)
    ax.set_title(f"How long customers stay, by {segment}")
    ax.legend(title=segment)
    ax.figure.tight_layout()
    return ax


def plot_driver_effects(suite: SuiteResults, ax: plt.Axes | None = None) -> plt.Axes | None:
    """Odds ratios of churn (log axis, 95% CIs), one per CX driver from the one model `driver_effects` chooses
    (its `measures` sentence belongs under the figure).

    Parameters
    ----------
    suite, ax
        See the module docstring.

    Returns
    -------
    matplotlib.axes.Axes or None
        The Axes drawn on, or None when no model estimated any driver.
    """
    effects = driver_effects(suite)
    if effects is None:
        return None
    table = pd.DataFrame([{"label": e.label, "odds_ratio": e.odds_ratio, "ci_low": e.ci_low, "ci_high": e.ci_high}
                          for e in effects.effects])
    table = _drawable(table, "odds_ratio", 1e-12, np.inf)
    if table.empty:
        return None
    ax = axes_or_new(ax, 9, 1.2 + 0.45 * len(table))
    rows = np.arange(len(table))[::-1]
    colours = [PALETTE[3] if o > 1 else PALETTE[0] for o in table["odds_ratio"]]
    ax.hlines(rows, table["ci_low"], table["ci_high"], colors=colours, linewidth=2)
    ax.scatter(table["odds_ratio"], rows, color=colours, zorder=3)
    ax.axvline(1, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator([0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(rows, list(table["label"]))
    ax.set_xlabel("odds ratio of churn, log scale (above 1: more churn; bars: 95% CI)")
    ax.set_title("What goes with churn")
    ax.grid(axis="y", visible=False)
    ax.figure.tight_layout()
    return ax


def plot_value_by_segment(
    suite: SuiteResults, segment: str = "contract", currency: str = "", min_cell_size: int = 10,
    ax: plt.Axes | None = None,
) -> plt.Axes | None:
    """Lifetime value of a new customer per segment with 95% CIs.

    Parameters
    ----------
    segment
        The segment column notebook 05 split its values by.
    currency
        Currency of the amounts; by default the one the data states (or "currency units").
    suite, min_cell_size, ax
        See the module docstring.

    Returns
    -------
    matplotlib.axes.Axes or None
        One bar per segment, or None when notebook 05 recorded no value for `segment`.
    """
    table = suite.table("05_retention_economics", f"clv_by_{segment}", min_cell_size)
    table = None if table is None else _drawable(table, "clv", -np.inf, np.inf)
    if table is None or table.empty:
        return None
    ax = axes_or_new(ax)
    x = np.arange(len(table))
    err = np.vstack([table["clv"] - table["ci_low"], table["ci_high"] - table["clv"]])
    ax.bar(x, table["clv"], color=PALETTE[2], width=0.6)
    ax.errorbar(x, table["clv"], yerr=err, fmt="none", ecolor="black", capsize=4)
    ax.set_xticks(x, [str(g) for g in table["group"]])
    ax.set_xlabel(segment)
    ax.set_ylabel(f"lifetime value per new customer ({suite.currency(currency) or NO_CURRENCY})")
    ax.set_title(f"What a new customer is worth, by {segment}")
    ax.grid(axis="x", visible=False)
    ax.figure.tight_layout()
    return ax


def _drawable(table: pd.DataFrame, value: str, low: float, high: float) -> pd.DataFrame:
    """Rows of `table` with a finite `value` in [low, high]; interval ends clipped to that scale and the value.

    A missing interval end collapses onto the value (no error bar on that side) rather than dropping the row.
    """
    if value not in table:
        return table.iloc[0:0]
    table = table.copy()
    table[value] = pd.to_numeric(table[value], errors="coerce")
    table = table[np.isfinite(table[value]) & table[value].between(low, high)].copy()
    for end, side in (("ci_low", np.minimum), ("ci_high", np.maximum)):
        ends = pd.to_numeric(table[end], errors="coerce") if end in table else table[value]
        table[end] = side(ends.fillna(table[value]).clip(low, high), table[value])
    return table


def plot_why_customers_leave(suite: SuiteResults, ax: plt.Axes | None = None) -> plt.Axes | None:
    """Of 100 customers, how many had left for each reason by the longest horizon notebook 06 could estimate.

    Parameters
    ----------
    suite, ax
        See the module docstring; the figure reads notebook 06's `churn_by_reason` table (whole base).

    Returns
    -------
    matplotlib.axes.Axes or None
        Horizontal bars with 95% intervals, largest reason on top; None when there is nothing to draw.
    """
    table = suite.table("06_churn_reasons", "churn_by_reason")
    if table is None or table.empty:
        return None
    whole = _drawable(table[table["group"] == ALL] if "group" in table else table, "cif", 0.0, 1.0)
    if whole.empty:
        return None
    months = float(whole["months"].max())
    rows = whole[whole["months"] == months].sort_values("cif")
    ax = axes_or_new(ax, width=7.5, height=max(2.5, 0.5 * len(rows) + 1.2))
    value = 100 * rows["cif"].to_numpy(float)
    errors = np.vstack([value - 100 * rows["ci_low"].to_numpy(float), 100 * rows["ci_high"].to_numpy(float) - value])
    ax.barh(rows["cause"].astype(str), value, color=[cause_colour(str(c)) for c in rows["cause"]], height=0.6)
    ax.errorbar(value, np.arange(len(rows)), xerr=np.clip(errors, 0, None), fmt="none", ecolor="0.2", capsize=4)
    ax.set_xlabel(f"of 100 customers, how many had left for this reason by month {months:g} (95% CI)")
    ax.set_title("Why customers leave")
    ax.figure.tight_layout()
    return ax


def plot_what_to_fix_first(suite: SuiteResults, currency: str, ax: plt.Axes | None = None) -> plt.Axes | None:
    """The CX levers ranked by margin retained a year under a realistic improvement (notebook 08), with 95% CIs.

    Parameters
    ----------
    suite, ax
        See the module docstring; the figure reads notebook 08's `value_at_stake_ranking` table.
    currency
        The unit of the axis.

    Returns
    -------
    matplotlib.axes.Axes or None
        The ranking chart, or None when notebook 08 ranked nothing.
    """
    ranking = suite.table("08_value_at_stake", "value_at_stake_ranking")
    if ranking is None or ranking.empty:
        return None
    return plot_fix_first(ranking, currency, ax=ax)


#: Notebook 09's results (experiments).
EXPERIMENTS = "09_experiments"


def plot_experiment_effects(suite: SuiteResults, currency: str = "",
                            axes: tuple[plt.Axes, plt.Axes] | None = None) -> plt.Axes | None:
    """Each randomised campaign's effect on its headline outcome and its best targeting policy's profit per
    customer, with 95% CIs (notebook 09's `experiment_headlines`).

    Parameters
    ----------
    suite
        See the module docstring.
    currency
        The unit of the profits.
    axes
        The two panels to draw on (effects, profits); a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes or None
        The effects panel (its figure holds both), or None when no campaign has an effect with a number.
    """
    rows = []
    for head in suite.extra(EXPERIMENTS, "experiment_headlines", []) or []:
        effect = suite.estimate(EXPERIMENTS, head["effect"])
        if not has_figure(effect):
            continue
        profit = suite.estimate(EXPERIMENTS, head["profit"]) if head["profit"] else None
        label = f"{head['campaign']}: {head['arm']}".replace("_", " ")
        rows.append({"label": f"{label}\n({head['outcome'].replace('_', ' ')})", "effect": effect.value,
                     "effect_low": effect.ci_low, "effect_high": effect.ci_high, "effect_unit": effect.unit or "units",
                     **{k: getattr(profit, a) if profit is not None else np.nan
                        for k, a in (("profit", "value"), ("profit_low", "ci_low"), ("profit_high", "ci_high"))},
                     "policy": head["policy"] if profit is not None else ""})
    if not rows:
        return None
    table = pd.DataFrame(rows).astype(
        {c: float for c in ("effect", "effect_low", "effect_high", "profit", "profit_low", "profit_high")})
    return plot_campaign_effects(table, currency, axes=axes)
