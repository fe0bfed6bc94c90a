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
