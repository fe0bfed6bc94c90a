"""The cost of bad service and the levers of notebook 08 claim only the sign their 95% interval supports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxresearch.report import executive
from cxresearch.report.key_figures import kpi_tiles_html
from cxresearch.report.nbtools import Markdown, markdown
from cxresearch.report.results import Results
from cxresearch.report.service_cost import (
    ABOVE,
    BELOW,
    INCLUDES,
    cost_finding_lead,
    cost_tile,
    interval_side,
    ranking_caveat,
)
from cxresearch.report.suite_results import load_suite_results
from cxresearch.stats.estimate import Estimate

# (estimate, CI low, CI high) of the annual cost: interval above zero, including zero (the thin simulated world
# of 400 customers over 6 months), below zero.
POSITIVE, SPANNING, NEGATIVE = (261450.0, 237607.0, 281277.0), (-2905.0, -13113.0, 6361.0), (-5200.0, -9800.0, -700.0)
SHARES = {POSITIVE: (14.1, 12.9, 15.2), SPANNING: (-5.6, -27.9, 11.5), NEGATIVE: (-9.0, -17.0, -1.2)}


def _cost(triple: tuple[float, float, float]) -> Estimate:
    return Estimate(triple[0], "EUR", "Margin lost to bad service in a year", triple[1], triple[2])


def _share(triple: tuple[float, float, float]) -> Estimate:
    return Estimate(*SHARES[triple][:1], "%", "share", *SHARES[triple][1:])


def _run(tmp_path: Path, triple: tuple[float, float, float], ranking: pd.DataFrame | None = None) -> Path:
    res = Results("08_value_at_stake", {}, "x", extra={"currency": "EUR"})
    res.add("bad_service_cost_annual", _cost(triple))
    res.add("bad_service_churn_share_pct", _share(triple))
    if ranking is not None:
        res.add_table("value_at_stake_ranking", ranking)
    res.write(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("low", "high", "side"), [(1.0, 5.0, ABOVE), (-1.0, 5.0, INCLUDES), (0.0, 5.0, INCLUDES),
                                                   (-5.0, -1.0, BELOW), (None, None, INCLUDES)])
def test_interval_side(low: float | None, high: float | None, side: str) -> None:
    assert interval_side(low, high) == side


def test_a_cost_above_zero_reads_as_a_cost(tmp_path: Path) -> None:
    assert cost_tile(_cost(POSITIVE), "EUR") == ("261,450 EUR", "Margin lost to bad service in a year",
                                                 "95% CI 237,607 to 281,277")
    parts = executive.service_cost_section(load_suite_results(_run(tmp_path, POSITIVE)))
    assert parts[0] == Markdown("**Bad service cost us 261,450 EUR of margin in the last year** (95% CI 237,607 to "
                                "281,277): 14.1% of the year's churn (12.9% to 15.2%) is attributable to it.")
    assert cost_finding_lead(_cost(POSITIVE), _share(POSITIVE), 60).startswith(
        "Bad service cost an estimated 261,450 EUR (95% CI 237,607 to 281,277) of margin in the last year")


def test_a_cost_whose_interval_includes_zero_is_not_a_signed_figure(tmp_path: Path) -> None:
    tiles = kpi_tiles_html(load_suite_results(_run(tmp_path, SPANNING)))
    assert "Not distinguishable from zero" in tiles and "Bad service cost in the last year, on this data" in tiles
    assert "estimate -2,905 EUR (95% CI -13,113 to 6,361)" in tiles
    assert ">-2,905 EUR<" not in tiles and "Margin lost" not in tiles
    parts = executive.service_cost_section(load_suite_results(tmp_path))
    assert parts[0] == Markdown(
        "**This data cannot establish a cost of bad service.** The estimated margin lost to it in the last year, "
        "-2,905 EUR (95% CI -13,113 to 6,361), is not distinguishable from zero, nor is the share of churn "
        "attributable to it, -5.6% of the year's churn (-27.9% to 11.5%).")
    assert "cost us" not in parts[0].text
    lead = cost_finding_lead(_cost(SPANNING), _share(SPANNING), 60)
    assert lead.startswith("The data cannot establish that bad service cost margin in the last year")
    assert lead.endswith("-2,905 EUR (95% CI -13,113 to 6,361), not distinguishable from zero.")


def test_a_cost_below_zero_says_the_model_finds_no_cost(tmp_path: Path) -> None:
    figure, label, small = cost_tile(_cost(NEGATIVE), "EUR")
    assert (figure, label) == ("No cost found", "Bad service cost in the last year, on this data")
    assert small == ("the model says removing the failures would not have kept customers: estimate -5,200 EUR "
                     "(95% CI -9,800 to -700)")
    text = executive.service_cost_section(load_suite_results(_run(tmp_path, NEGATIVE)))[0].text
    assert text.startswith("**On this data the model finds no cost of bad service.** Removing the service failures "
                           "would not have kept customers, according to the model")
    assert "-5,200 EUR (95% CI -9,800 to -700), below zero" in text and "cost us" not in text
    assert cost_finding_lead(_cost(NEGATIVE), _share(NEGATIVE), 60).startswith(
        "The model finds no cost of bad service in the last year")


def _ranking(*intervals: tuple[float, float, float]) -> pd.DataFrame:
    labels = ["Unresolved contacts", "High effort", "Channel inconsistency"][: len(intervals)]
    return pd.DataFrame({"label": labels, "scenario": ["10% fewer"] * len(labels),
                         "margin_retained_annual": [i[0] for i in intervals],
                         "margin_retained_annual_ci_low": [i[1] for i in intervals],
                         "margin_retained_annual_ci_high": [i[2] for i in intervals]})


def test_the_ranking_says_which_levers_it_cannot_establish(tmp_path: Path) -> None:
    assert ranking_caveat(_ranking((25484.0, 21619.0, 29388.0), (6553.0, 4860.0, 8571.0))) == ""
    assert ranking_caveat(_ranking((25484.0, 21619.0, 29388.0), (104.0, -351.0, 976.0))) == (
        "The 95% interval of High effort includes zero: the data cannot establish that improving it retains margin.")
    # The thin world: every interval includes zero.
    thin = _ranking((104.0, -351.0, 976.0), (78.0, -60.0, 409.0), (-391.0, -1125.0, 837.0))
    assert ranking_caveat(thin) == (
        "No lever is shown to retain margin on this data (every lever's 95% interval includes zero), so the ranking "
        "does not say what to fix first.")
    below = _ranking((25484.0, 21619.0, 29388.0), (104.0, -351.0, 976.0), (-391.0, -1125.0, -20.0))
    assert ranking_caveat(below) == (
        "The 95% interval of High effort includes zero: the data cannot establish that improving it retains margin. "
        "For Channel inconsistency the interval lies below zero: according to the model that improvement would not "
        "keep customers.")
    assert ranking_caveat(_ranking((78.0, -60.0, 409.0), (-391.0, -1125.0, -20.0))).startswith(
        "No lever is shown to retain margin on this data (no 95% interval lies above zero), so the ranking does not "
        "say what to fix first. For High effort the interval lies below zero")
    parts = executive.service_cost_section(load_suite_results(_run(tmp_path, SPANNING, thin)))
    assert markdown("{}", ranking_caveat(thin)) in parts
