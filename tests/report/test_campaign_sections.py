"""Tests for cxresearch.report.campaign_sections: the campaign at a save rate per customer beside the one at one
save rate, on a simulated world with a randomised retention offer, and its skips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxresearch.data.load import load_source
from cxresearch.economics import RetentionCampaign, Valuation
from cxresearch.report.campaign_sections import (
    PER_CUSTOMER,
    campaign_section,
    campaign_targets,
    per_customer_section,
)
from cxresearch.report.economics_sections import prepare, save_rate_section
from cxresearch.report.record.economics import record_economics
from cxresearch.report.results import Results

ASSUMED = RetentionCampaign(25.0, 0.15, 10.0, save_rate_range=(0.05, 0.25))


@pytest.fixture(scope="module")
def world(demo_world: Path):
    """The demo world: its retention offer randomised 5,075 customers and measurably kept some."""
    return load_source(demo_world)


def _inputs(data, measure: bool):
    results = Results("05_retention_economics", {}, "x", extra={"assumptions": []})
    inputs = prepare(data, results, "contract", Valuation(n_boot=0, seed=1))
    campaign = save_rate_section(inputs, results, ASSUMED, "") if measure else ASSUMED
    targets = campaign_targets(inputs, results, object(), campaign, "", None)
    return results, inputs, targets, campaign, campaign_section(inputs, targets, campaign)


def _run(data, measure: bool, n_boot: int = 4):
    results, inputs, targets, campaign, flat = _inputs(data, measure)
    return results, campaign, flat, per_customer_section(inputs, results, targets, campaign, flat, n_boot)


def test_per_customer_campaign_inside_the_support_is_recorded_with_its_interval(world) -> None:
    results, campaign, flat, comparison = _run(world, measure=True)
    assert campaign.measured and comparison is not None
    n = len(comparison.each.ranking)
    assert 0 < comparison.inside < n and comparison.inside + comparison.outside == n
    # outside the support every customer keeps the measured save rate
    outside = comparison.each.uplift != campaign.save_rate
    assert outside.sum() <= comparison.inside
    # the flat campaign is the notebook's; the per-customer one optimises its own rates, so it expects at least
    # what the flat campaign's contacts would earn at those rates
    assert comparison.flat is flat
    assert comparison.each.optimum.expected_profit >= comparison.flat_at_each()
    assert len(comparison.each_draws) == len(comparison.flat_draws) == 4
    record_economics(results, "contract", valuation=Valuation(), per_customer=comparison)
    profit, gain = (results.estimates[k] for k in ("campaign_per_customer_profit", "campaign_per_customer_gain"))
    # reported: the model's expectation less the refits' optimism, with the basic bootstrap CI, by hand
    each, draws = comparison.each.optimum.expected_profit, comparison.each_draws
    assert profit.value == pytest.approx(2 * each - draws.mean())
    assert (profit.ci_low, profit.ci_high) == pytest.approx((2 * each - np.percentile(draws, 97.5),
                                                             2 * each - np.percentile(draws, 2.5)))
    assert profit.ci_low <= profit.value <= profit.ci_high
    assert gain.value == pytest.approx(profit.value - (2 * flat.optimum.expected_profit - comparison.flat_draws.mean()))
    assert "less its optimism" in profit.note
    assert "retention_offer" in profit.note and results.tables["campaign_per_customer"] is not None
    assert results.extra["campaign_uplift"]["inside"] == comparison.inside
    assert any("save rate per customer" in f for f in results.findings)


def test_without_a_measured_save_rate_the_per_customer_campaign_is_skipped(world) -> None:
    results, _, flat, comparison = _run(world, measure=False)
    assert flat is not None and comparison is None
    skip = [s for s in results.skipped if s["analysis"] == PER_CUSTOMER]
    assert skip and skip[0]["needs"] == "a randomised retention campaign"


def test_refits_evaluated_on_a_sample_of_the_support_are_scaled_up_and_stated(world) -> None:
    results, inputs, targets, campaign, flat = _inputs(world, measure=True)
    full = per_customer_section(inputs, results, targets, campaign, flat, 2)
    inside = full.inside
    # a bound of at least everyone inside the support leaves the interval as it was, and states no sample
    bound = per_customer_section(inputs, results, targets, campaign, flat, 2, max_targets=inside)
    np.testing.assert_array_equal(bound.each_draws, full.each_draws)
    np.testing.assert_array_equal(bound.flat_draws, full.flat_draws)
    assert bound.boot_customers is None and not any("interval" in a["analysis"] for a in results.approximations)
    sampled = per_customer_section(inputs, results, targets, campaign, flat, 2, max_targets=2_000)
    # the point estimate stays exact; each draw adds the refit's change of profit on 2,000 customers, scaled up to
    # all of them: close to the full draw (unscaled, two thirds of the change inside the support would be lost)
    assert sampled.each.optimum.expected_profit == full.each.optimum.expected_profit
    np.testing.assert_array_equal(sampled.flat_draws, full.flat_draws)
    change = full.each_draws - full.each.optimum.expected_profit
    error = sampled.each_draws - full.each_draws
    assert np.abs(error).max() < 0.15 * np.abs(change).max(), (error, change)
    assert np.abs(change).max() > 1_000
    # the sample is stated under the approximations and in the estimates' note
    stated = [a for a in results.approximations if "interval" in a["analysis"]]
    assert [(a["n_used"], a["n_total"]) for a in stated] == [(2_000, inside)]
    assert sampled.boot_customers == 2_000
    note = sampled.to_estimates()["campaign_per_customer_profit"].note
    assert f"a random 2,000 of the {inside:,} customers inside the support" in note
