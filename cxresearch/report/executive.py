"""The executive summary page (notebook 00), section by section, built only from a run's results files.

Each `*_section` function returns what its section shows, in order: Markdown sentences (data-derived text
escaped), HTML blocks and figures; a notebook cell shows them with `nbtools.show_parts`. The decisions a section
makes (what to draw, what to say when there is nothing) live here, so the notebook holds no control flow.
"""

from __future__ import annotations

import html
from pathlib import Path

from cxresearch.report.cx_drivers import actions_html, driver_effects
from cxresearch.report.figures import (
    EXPERIMENTS,
    plot_churn_by_nps_group,
    plot_driver_effects,
    plot_experiment_effects,
    plot_lifetime_curves,
    plot_value_by_segment,
    plot_what_to_fix_first,
    plot_why_customers_leave,
)
from cxresearch.report.findings import (
    approximations,
    evidence_html,
    headlines,
    missing_sections,
    not_estimated,
    provenance_line,
)
from cxresearch.report.key_figures import changes_html, compare_runs, kpi_tiles_html
from cxresearch.report.nbtools import Html, Markdown, Part, markdown
from cxresearch.report.retention_text import retention_vs_acquisition_text
from cxresearch.report.service_cost import cost_sentence, ranking_caveat
from cxresearch.report.suite_results import (
    NO_CURRENCY,
    SuiteResults,
    has_figure,
    load_suite_results,
    skip_reason,
)
from cxresearch.report.wording import bullets_html, html_table, lifetime_assumptions, money_unit


def provenance_section(suite: SuiteResults) -> list[Part]:
    """Where the data came from, in italics, or nothing when no results file records it."""
    line = provenance_line(suite)
    return [markdown("*{}*", line)] if line else []


def key_figures_section(suite: SuiteResults, currency: str = "") -> list[Part]:
    """The KPI tiles (money in `currency`, else the data's own)."""
    return [Html(kpi_tiles_html(suite, currency))]


def findings_section(suite: SuiteResults) -> list[Part]:
    """The leading findings of every notebook as a bullet list."""
    return [Html(bullets_html(headlines(suite)))]


def actions_section(suite: SuiteResults) -> list[Part]:
    """The ranked actions the evidence supports, or a sentence that it supports none."""
    return [Html(actions_html(suite))]


def retention_section(suite: SuiteResults) -> list[Part]:
    """Retention vs acquisition in bold plain words, or why it could not be assessed."""
    return [markdown("**{}**", retention_vs_acquisition_text(suite))]


def claims_section(suite: SuiteResults) -> list[Part]:
    """The tested CX claims with their rule, estimates and verdicts."""
    return [Html(evidence_html(suite))]


def drivers_section(suite: SuiteResults) -> list[Part]:
    """One odds ratio per CX driver as a figure with what its model measures, or why there is none."""
    drivers, ax = driver_effects(suite), plot_driver_effects(suite)
    if ax is None:
        return [markdown("No CX driver's association with churn could be estimated on this data.")]
    return [ax.figure, markdown("*{}*", " ".join(part for part in (drivers.measures, drivers.other) if part))]


def service_cost_section(suite: SuiteResults, currency: str = "") -> list[Part]:
    """What bad service cost in margin over the last year, and which CX lever to fix first (notebook 08), claiming
    only the sign each 95% interval supports (`report.service_cost`)."""
    cost = suite.estimate("08_value_at_stake", "bad_service_cost_annual")
    if not has_figure(cost):
        why = skip_reason(suite, "08_value_at_stake")
        return [markdown("What bad service costs cannot be estimated from this data{}.", f": {why}" if why else "")]
    share = suite.estimate("08_value_at_stake", "bad_service_churn_share_pct")
    unit = money_unit(suite, cost, currency)
    # The currency is the sentence's only data-derived text: escaped on its own, the sentence's apostrophes are not.
    parts: list[Part] = [Markdown("**{}** {}".format(*cost_sentence(cost, share, html.escape(unit))))]
    ax = plot_what_to_fix_first(suite, unit)
    if ax is not None:
        parts.append(ax.figure)
    ranking = suite.extra("08_value_at_stake", "value_at_stake_ranking_text", "")
    method = suite.extra("08_value_at_stake", "value_at_stake_method", "")
    randomised = suite.extra("08_value_at_stake", "value_at_stake_randomised_text", "")
    table = suite.table("08_value_at_stake", "value_at_stake_ranking")
    caveat = ranking_caveat(table) if table is not None and not table.empty else ""
    parts += [markdown("{}", text) for text in (ranking, caveat, randomised) if text]
    parts += [markdown("*{}*", text) for text in (method,) if text]
    return parts


def reasons_section(suite: SuiteResults) -> list[Part]:
    """Why customers leave: churn by reason and the service-related share (notebook 06)."""
    ax = plot_why_customers_leave(suite)
    if ax is None:
        why = skip_reason(suite, "06_churn_reasons")
        return [markdown("Why customers leave cannot be shown: {}.", why or "the data records no churn reasons")]
    parts: list[Part] = [ax.figure]
    share = suite.estimate("06_churn_reasons", "service_churn_share_pct")
    if has_figure(share):
        parts.append(markdown("{}: {}.", share.label, share.format(1)))
    return parts


def experiments_section(suite: SuiteResults, currency: str = "") -> list[Part]:
    """Each randomised campaign's measured effects and its best targeting policy's profit (notebook 09): a chart
    of each campaign's headline effect beside its best policy's profit per customer (money in `currency`, else
    the data's own), then every figure in a table."""
    res = suite.results.get(EXPERIMENTS)
    if res is None or not res.extra.get("experiment_campaigns"):
        why = skip_reason(suite, EXPERIMENTS)
        return [markdown("No randomised experiment in this data{}.", f": {why}" if why else "")]
    ax = plot_experiment_effects(suite, suite.currency(currency) or NO_CURRENCY)
    chart: list[Part] = [] if ax is None else [markdown(
        "The chart shows each campaign's effect on its main outcome (for a retention campaign, churn within the "
        "horizon: below zero means fewer customers left) and, beside it, the incremental profit per customer of the "
        "best way found to target the next such campaign, measured on held-out customers (the targeting model did "
        "not see them)."), ax.figure]
    wanted = ("_effect", "_rmst_difference", "_best_policy_profit", "_best_policy_gain_over_everyone")
    rows = [f"<tr><td>{html.escape(est.label)}</td><td>{html.escape(est.format(2))}</td></tr>"
            for key, est in res.estimates.items()
            if key.startswith("experiment_") and key.endswith(wanted) and has_figure(est)]
    return chart + [Html(html_table("<tr><th>measured in a randomised experiment</th><th>estimate (95% CI)</th></tr>",
                                    rows))]


def pictures_section(suite: SuiteResults, segment: str = "contract", currency: str = "",
                     min_cell_size: int = 10) -> list[Part]:
    """Churn by NPS group, lifetime curves and value by `segment`: the ones with something to draw."""
    axes = [
        plot_churn_by_nps_group(suite, min_cell_size=min_cell_size),
        plot_lifetime_curves(suite, segment, min_cell_size),
        plot_value_by_segment(suite, segment, currency, min_cell_size),
    ]
    parts: list[Part] = [ax.figure for ax in axes if ax is not None]
    assumptions = lifetime_assumptions(suite)
    if (axes[1] is not None or axes[2] is not None) and assumptions:
        parts.append(markdown("*{}*", assumptions))
    if not parts:
        parts.append(markdown("No summary picture can be drawn from this data; the research notebooks show what it "
                              "supports."))
    return parts


def gaps_section(suite: SuiteResults) -> list[Part]:
    """What this run cannot say (missing notebooks, skipped analyses) and what rests on a sample."""
    parts: list[Part] = []
    if suite.missing:
        parts.append(markdown("No results in this run from: {}.", missing_sections(suite)))
    gaps = not_estimated(suite)
    if gaps:
        parts += [markdown("**What this data cannot tell us.** The research notebooks list every analysis left out, "
                           "and why."), Html(bullets_html(gaps))]
    base = next((r.extra["customer_sample"] for r in suite.results.values() if r.extra.get("customer_sample")), None)
    if base:
        parts.append(markdown(base_sample_sentence(base)))
    sampled = approximations(suite)
    if sampled:
        parts += [markdown("**Figures estimated on a sample.** The customer base is large, so these figures were "
                           "computed on a random sample of customers; their uncertainty ranges account for it."),
                  Html(bullets_html(sampled))]
    return parts or [markdown("Every analysis ran, on every customer.")]


def base_sample_sentence(info: dict) -> str:
    """What a whole-source customer sample is (`customer_sample` of dataset.json), in one Markdown paragraph."""
    total, kept = int(info["customers_total"]), int(info["customers_kept"])
    text = (f"**Every figure rests on a sample of the customer base.** The data holds {total:,} customers; the "
            f"analyses ran on {kept:,} of them ({kept / total:.1%}), chosen by a hash of the customer id (the same "
            "customers on every run) with all their contacts and surveys.")
    if "ended_total" in info:
        ended = int(info["ended_total"])
        text += (f" Counted on every customer: {ended:,} of {total:,} ({ended / total:.1%}) left during the "
                 "observation window.")
    return text


def changes_section(suite: SuiteResults, previous_results_dir: str | Path = "", currency: str = "") -> list[Part]:
    """Each key figure against the previous run's (read from `previous_results_dir`), or that there is none.
    """
    if not previous_results_dir:
        return [markdown("This is the first run on this data source: nothing to compare with yet.")]
    return [Html(changes_html(compare_runs(suite, load_suite_results(previous_results_dir), currency)))]

