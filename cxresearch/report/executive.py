"""The executive summary page (notebook 00), section by section, built only from a run's results files.

Each `*_section` function returns what its section shows, in order: Markdown sentences (data-derived text
escaped), HTML blocks and figures; a notebook cell shows them with `nbtools.show_parts`. The decisions a section
makes (what to draw, what to say when there is nothing) live here, so the notebook holds no control flow.
"""

from __future__ import annotations

from pathlib import Path

from cxresearch.report.cx_drivers import actions_html, driver_effects
from cxresearch.report.figures import (
    plot_churn_by_nps_group,
    plot_driver_effects,
    plot_lifetime_curves,
    plot_value_by_segment,
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
from cxresearch.report.nbtools import Html, Part, markdown
from cxresearch.report.retention_text import retention_vs_acquisition_text
from cxresearch.report.suite_results import SuiteResults, load_suite_results
from cxresearch.report.wording import bullets_html, lifetime_assumptions


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
    sampled = approximations(suite)
    if sampled:
        parts += [markdown("**Figures estimated on a sample.** The customer base is large, so these figures were "
                           "computed on a random sample of customers; their uncertainty ranges account for it."),
                  Html(bullets_html(sampled))]
    return parts or [markdown("Every analysis ran, on every customer.")]


def changes_section(suite: SuiteResults, previous_results_dir: str | Path = "", currency: str = "") -> list[Part]:
    """Each key figure against the previous run's (read from `previous_results_dir`), or that there is none.
    """
    if not previous_results_dir:
        return [markdown("This is the first run on this data source: nothing to compare with yet.")]
    return [Html(changes_html(compare_runs(suite, load_suite_results(previous_results_dir), currency)))]

