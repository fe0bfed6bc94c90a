"""Tests for cxresearch.report.economics_sections: what is run, and what is recorded as skipped with which reason
and missing input, when the data lacks a lifetime value or an acquisition cost."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cxresearch.economics import CLVResult, RetentionCampaign, Valuation, clv_from_survival
from cxresearch.report.economics_sections import (
    EconomicsInputs,
    monte_carlo_section,
    preventable_section,
    residual_section,
    retention_section,
    why_no_comparison,
)
from cxresearch.report.record.economics import record_tail
from cxresearch.report.results import Results

NO_CHURN = "no customer in the data has churned, so there is no survival curve to value"
CAMPAIGN = RetentionCampaign(25.0, 0.15, 10.0, save_rate_range=(0.05, 0.25))


def inputs(clv: bool, acquisition_costs: list[float] | None = None) -> EconomicsInputs:
    lifetimes = pd.DataFrame({"duration_months": [3.0, 5.0], "event": [0, 1], "monthly_margin": [20.0, 30.0]})
    if acquisition_costs is not None:
        lifetimes["acquisition_cost"] = acquisition_costs
    overall = CLVResult(pd.DataFrame({"group": ["all"], "clv": [500.0], "ci_low": [450.0], "ci_high": [550.0],
                                      "n": [2], "monthly_margin": [25.0]}), 60, 0.01, "EUR") if clv else None
    return EconomicsInputs(None, lifetimes, Valuation(currency="EUR"), "contract", [], "" if clv else NO_CHURN,
                           "" if clv else "churners", overall, None)


def test_why_no_comparison_names_the_missing_input() -> None:
    assert why_no_comparison(inputs(clv=False), 160.0) == (f"no lifetime value ({NO_CHURN})", "churners")
    assert why_no_comparison(inputs(clv=True), 0.0) == (
        "no acquisition cost in the data or the acquisition_cost parameter", "acquisition costs")
    assert why_no_comparison(inputs(clv=True), 160.0) == ("", "")
    assert why_no_comparison(inputs(clv=True, acquisition_costs=[150.0, None]), 0.0) == ("", "")
    assert why_no_comparison(inputs(clv=True, acquisition_costs=[None, None]), 0.0)[1] == "acquisition costs"


def test_sections_without_a_comparison_record_their_skips() -> None:
    results = Results("05_retention_economics", {}, "x")
    assert residual_section(inputs(clv=False), results) is None
    assert retention_section(inputs(clv=True), results, CAMPAIGN, 0.0, 7.0, 0.25, 100) == (None, None)
    assert monte_carlo_section(inputs(clv=True), results, None, None, CAMPAIGN, 0.0, 0.25, 100) == (None, None)
    assert results.skipped == [
        {"analysis": "residual customer value", "reason": NO_CHURN, "needs": "churners"},
        {"analysis": "retention vs acquisition",
         "reason": "no acquisition cost in the data or the acquisition_cost parameter", "needs": "acquisition costs"},
        {"analysis": "Monte Carlo sensitivity", "reason": "no retention-vs-acquisition comparison: no acquisition "
         "cost in the data or the acquisition_cost parameter", "needs": "acquisition costs"},
    ]


def test_retention_campaign_checks_its_inputs_and_adds_its_costs() -> None:
    assert CAMPAIGN.cost == 35.0 and not CAMPAIGN.measured
    assert CAMPAIGN.cost_text() == "35.00 per contacted customer (assumed: contact 25.00 + incentive 10.00)"
    assert RetentionCampaign(20.0, 0.25, contacted=200).measured
    with pytest.raises(ValueError, match="must be in"):
        RetentionCampaign(25.0, 0.0)
    with pytest.raises(ValueError, match="positive"):
        RetentionCampaign(0.0, 0.2)


def test_preventable_section_scales_the_campaign_and_records_what_it_left_out() -> None:
    lifetimes = pd.DataFrame({"customer_id": list("abcde"), "duration_months": [3.0, 5.0, 7.0, 9.0, 11.0],
                              "event": [1, 1, 1, 1, 0], "monthly_margin": 20.0})
    reasons = pd.DataFrame({"customer_id": list("abcde"), "end_reason": ["moved", "price", "service", "price", None]})
    base = inputs(clv=True)
    base.lifetimes, base.data = lifetimes, SimpleNamespace(customers=reasons)
    results = Results("05_retention_economics", {}, "x")
    campaign = preventable_section(base, results, CAMPAIGN, preventable_only=True)
    assert campaign.preventable_share == pytest.approx(0.75) and campaign.kept_share == pytest.approx(0.1125)
    recorded = results.extra["preventable_churn"]
    assert recorded["exits"] == 4 and recorded["excluded"] == {"moved": 1, "involuntary": 0}
    assert recorded["sentence"].startswith("1 of 4 exits (25%) were moves")
    assert preventable_section(base, results, CAMPAIGN, preventable_only=False) == CAMPAIGN


def test_the_tail_choice_is_recorded_with_its_table() -> None:
    rng = np.random.default_rng(0)
    life, censor = 20.0 * rng.weibull(0.5, 3000), rng.uniform(0, 30, 3000)
    lifetimes = pd.DataFrame({"duration_months": np.minimum(life, censor), "event": life <= censor,
                              "monthly_margin": 20.0})
    results = Results("05_retention_economics", {}, "x")
    record_tail(results, clv_from_survival(lifetimes, Valuation(n_boot=10)))
    assert [row["candidate"] for row in results.tables["clv_tail_models"]] == ["constant", "weibull", "lognormal",
                                                                                "loglogistic"]
    assert sum(row["chosen"] for row in results.tables["clv_tail_models"]) == 1
    assert results.extra["clv_tail"]["reason"].startswith("Beyond month ")
    assert results.extra["clv_tail"]["backtest_from_month"] == 19.0
