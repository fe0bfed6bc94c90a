"""The executive page's sections (`report.executive`): what each shows, decided from the results files alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from cxresearch.report import executive
from cxresearch.report.nbtools import Html, Markdown, markdown
from cxresearch.report.results import Results
from cxresearch.report.suite_results import load_suite_results
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.sampling import sample_customers


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def test_markdown_escapes_the_values_not_the_template() -> None:
    assert markdown("**{}** of {}", "<b>x</b>", 3) == Markdown("**&lt;b&gt;x&lt;/b&gt;** of 3")


def test_an_empty_run_says_so_in_every_section(tmp_path: Path) -> None:
    suite = load_suite_results(tmp_path)
    assert executive.provenance_section(suite) == []
    assert executive.drivers_section(suite) == [
        Markdown("No CX driver's association with churn could be estimated on this data.")]
    assert executive.pictures_section(suite) == [Markdown(
        "No summary picture can be drawn from this data; the research notebooks show what it supports.")]
    assert executive.changes_section(suite) == [
        Markdown("This is the first run on this data source: nothing to compare with yet.")]
    gaps = executive.gaps_section(suite)
    assert gaps[0] == Markdown("No results in this run from: The data, Churn, How long customers stay, "
                               "Satisfaction, loyalty and effort, What retention is worth, Why customers leave, "
                               "How good the lifetime models are, What bad service costs and Experiments.")
    assert executive.service_cost_section(suite) == [
        Markdown("What bad service costs cannot be estimated from this data.")]
    assert executive.experiments_section(suite) == [Markdown("No randomised experiment in this data.")]
    assert executive.retention_section(suite) == [
        Markdown("**Retention vs acquisition could not be assessed in this run.**")]


def test_gaps_list_the_sampled_figures_with_their_share(tmp_path: Path) -> None:
    res = Results("04_loyalty_metrics", {}, "x")
    sample = sample_customers(pd.DataFrame({"customer_id": [f"c{i}" for i in range(1000)]}), 250, 0)
    res.approximate("claim tests", sample)
    res.write(tmp_path)
    parts = executive.gaps_section(load_suite_results(tmp_path))
    assert isinstance(parts[-1], Html)
    assert "Satisfaction, loyalty and effort, claim tests: 250 of 1,000 customers (25%)" in parts[-1].text
    assert parts[-2].text.startswith("**Figures estimated on a sample.**")


def test_pictures_show_a_value_figure_with_the_assumption_under_it(tmp_path: Path) -> None:
    res = Results("05_retention_economics", {}, "x", extra={"currency": "EUR", "assumptions": ["Churn is final."]},
                  estimates={"clv_per_customer": Estimate(500.0, "EUR", "CLV", 450.0, 550.0)})
    res.add_table("clv_by_contract", pd.DataFrame({"group": ["annual", "monthly"], "clv": [800.0, 300.0],
                                                   "ci_low": [700.0, 250.0], "ci_high": [900.0, 350.0],
                                                   "n": [100, 200]}))
    res.write(tmp_path)
    figure, caption = executive.pictures_section(load_suite_results(tmp_path))
    assert isinstance(figure, plt.Figure)
    assert [p.get_height() for p in figure.axes[0].patches] == pytest.approx([800.0, 300.0])
    assert caption == Markdown("*Assumption: Churn is final.*")


def test_what_bad_service_costs_reads_its_figures_and_draws_the_ranking(tmp_path: Path) -> None:
    res = Results("08_value_at_stake", {}, "x", extra={"currency": "EUR",
                                                       "value_at_stake_ranking_text": "Fix unresolved contacts first."})
    res.add("bad_service_cost_annual", Estimate(261450.0, "EUR", "cost", 237607.0, 281277.0))
    res.add("bad_service_churn_share_pct", Estimate(14.1, "%", "share", 12.9, 15.2))
    res.add_table("value_at_stake_ranking", pd.DataFrame({
        "label": ["Unresolved contacts", "High effort"], "scenario": ["10% fewer", "-1 point"],
        "margin_retained_annual": [25484.0, 6553.0], "margin_retained_annual_ci_low": [21619.0, 4860.0],
        "margin_retained_annual_ci_high": [29388.0, 8571.0]}))
    res.write(tmp_path)
    parts = executive.service_cost_section(load_suite_results(tmp_path))
    assert parts[0] == Markdown("**Bad service cost us 261,450 EUR of margin in the last year** (95% CI 237,607 to "
                                "281,277): 14.1% of the year's churn (12.9% to 15.2%) is attributable to it.")
    bars = parts[1].axes[0].patches
    assert [round(b.get_width()) for b in bars] == [25484, 6553]
    assert parts[2] == Markdown("Fix unresolved contacts first.")


def test_why_customers_leave_draws_the_whole_base_at_the_longest_horizon(tmp_path: Path) -> None:
    res = Results("06_churn_reasons", {}, "x")
    res.add("service_churn_share_pct", Estimate(33.0, "%", "Share of churn that is service-related", 30.0, 35.8))
    res.add_table("churn_by_reason", pd.DataFrame({
        "group": ["all", "all", "all", "all", "one_year"], "cause": ["service", "price", "service", "price", "price"],
        "months": [12, 12, 48, 48, 48], "cif": [0.29, 0.10, 0.33, 0.11, 0.5],
        "ci_low": [0.26, 0.08, 0.30, 0.09, 0.4], "ci_high": [0.32, 0.12, 0.35, 0.13, 0.6]}))
    res.write(tmp_path)
    parts = executive.reasons_section(load_suite_results(tmp_path))
    bars = parts[0].axes[0].patches
    assert sorted(round(b.get_width()) for b in bars) == [11, 33]  # 48 months, whole base, per 100 customers
    assert parts[1] == Markdown("Share of churn that is service-related: 33.0% (95% CI 30.0 to 35.8).")


def test_experiments_explain_then_show_the_effects_chart_then_every_figure(tmp_path: Path) -> None:
    res = Results("09_experiments", {}, "x", extra={"experiment_campaigns": ["offer"], "experiment_headlines": [
        {"campaign": "offer", "arm": "treatment", "outcome": "churn within 12 months", "effect": "experiment_a_effect",
         "profit": "experiment_a_best_policy_profit", "policy": "everyone"}]})
    res.estimates.update({"experiment_a_effect": Estimate(-6.0, "percentage points", "offer: churn", -9.3, -2.9),
                          "experiment_a_best_policy_profit": Estimate(7.8, "EUR", "offer: profit", -1.8, 17.7)})
    res.write(tmp_path)
    words, chart, table = executive.experiments_section(load_suite_results(tmp_path), "EUR")
    assert "below zero means fewer customers left" in words.text
    titles = ["What each campaign caused", "Best targeting policy, held-out customers"]
    assert [ax.get_title() for ax in chart.axes] == titles
    assert "offer: churn" in table.text and "7.80 EUR (95% CI -1.80 to 17.70)" in table.text
