"""The follow-up lever beside a randomised proactive campaign: the prediction by hand, the measured effect against
the simulator's true campaign effect, the skip without a campaign, and what is recorded."""

from __future__ import annotations

import numpy as np
import pytest

from cxresearch.data.simulate import simulate
from cxresearch.economics.value_at_stake import value_at_stake
from cxresearch.economics.value_at_stake_randomised import ANALYSIS, CampaignRows, predicted_effect
from cxresearch.report.record.value_at_stake import record_value_at_stake
from cxresearch.report.results import Results
from cxresearch.truth.campaigns import true_average_effects, true_campaign_effects


def test_predicted_effect_by_hand():
    # two customers: a has months 0-2 after assignment, b months 0-1; monthly cumulative hazard 0.1; the follow-up
    # acts from the month after assignment with log hazard ratio -0.5 (all churn: no service share)
    rows = CampaignRows(campaign="c", horizon=12, position=np.arange(5), row_customer=np.array([0, 0, 0, 1, 1]),
                        follow_up=np.array([0.0, 1, 1, 0, 1]), customer=np.array([0, 1]), churn_treated=0.1,
                        churn_control=0.2, n_treated=100, n_control=100)
    eta = np.full(5, np.log(0.1))
    kept = np.exp(-0.1 * np.exp(-0.5))
    a = np.exp(-0.1) * kept**2 - np.exp(-0.3)
    b = np.exp(-0.1) * kept - np.exp(-0.2)
    assert predicted_effect(rows, eta, None, -0.5, 0.0, None) == pytest.approx(1000 * (a + b) / 2)
    assert predicted_effect(rows, eta, None, -0.5, 0.0, np.array([1.0, 0.0])) == pytest.approx(1000 * a)
    # measured: 200 - 100 churners per 1,000, Wald standard error
    assert rows.measured == pytest.approx((100.0, 1000 * np.sqrt(0.09 / 100 + 0.16 / 100)))


@pytest.fixture(scope="module")
def world():
    return simulate(8_000, 24, seed=2, campaigns=True)


@pytest.fixture(scope="module")
def result(world):
    return value_at_stake(world.to_cxdata(), n_boot=40, max_model_customers=None, seed=0)


def test_measured_effect_covers_the_true_campaign_effect(result, world):
    check = result.randomised
    assert check is not None and check.campaign == "proactive_follow_up" and check.horizon == 12
    truth = true_average_effects(true_campaign_effects(world.truth, check.campaign, 12))
    true_avoided = -1000 * truth["churn_effect"]  # churn_effect: treated minus control churn
    low, high = check.measured_ci
    assert true_avoided > 5 and low <= true_avoided <= high
    # the model's figure: one follow-up lowers churn; its interval comes from the refits
    p_low, p_high = check.predicted_ci
    assert 0 < p_low <= check.predicted <= p_high
    assert check.n_model == check.n_treated + check.n_control
    sentence = check.sentence()
    assert sentence.startswith("Randomised check of the follow-up lever") and ("agree" in sentence)
    table = check.summary()
    assert list(table["estimate"]) == pytest.approx([check.measured, check.predicted])


def test_recorded_beside_the_levers(result):
    results = Results("08_value_at_stake", {}, "")
    record_value_at_stake(results, result)
    rows = results.tables["value_at_stake_randomised"]
    assert [r["source"].split()[0] for r in rows] == ["randomised", "value-at-stake"]
    assert results.extra["value_at_stake_randomised_text"] == result.randomised.sentence()


def test_skipped_with_the_reason_without_a_campaign():
    out = value_at_stake(simulate(3_000, 18, seed=4).to_cxdata(), n_boot=0, max_model_customers=None)
    assert out.randomised is None and out.randomised_skip[1] == "treatment assignments"
    results = Results("08_value_at_stake", {}, "")
    record_value_at_stake(results, out)
    assert any(s["analysis"] == ANALYSIS and s["needs"] == "treatment assignments" for s in results.skipped)
    assert "value_at_stake_randomised" not in results.tables
