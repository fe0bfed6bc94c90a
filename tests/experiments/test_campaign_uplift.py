"""Per-customer save rates of a randomised retention offer (`experiments.campaign_uplift`): against the simulated
world's true per-customer effects, and the support a next campaign may use them in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxresearch.churn.logit import churn_risk
from cxresearch.data.schema import CXData
from cxresearch.data.simulate import simulate
from cxresearch.economics import campaign_roi
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.campaign_uplift import (
    CampaignSaveRates,
    Support,
    design,
    effect_features,
    fit_campaign_save_rates,
)
from cxresearch.experiments.save_rate import measured_save_rate
from cxresearch.truth.campaigns import true_campaign_effects, true_campaign_profit

CONTACT, INCENTIVE = 10.0, 10.0  # the simulated offer's cost per treated customer; an incentive


@pytest.fixture(scope="module")
def offer() -> tuple[CXData, dict, CampaignSaveRates]:
    """A 20,000-customer world with campaigns (about 5,000 customers in the retention offer) and its model."""
    world = simulate(n_customers=20_000, months=36, seed=5, campaigns=True)
    data = world.to_cxdata()
    risk = churn_risk(data)
    model = fit_campaign_save_rates(data, "retention_offer", effect_features(risk.active), risk.model.predict_proba)
    return data, world.truth, model


def test_per_customer_targeting_earns_at_least_the_flat_save_rate_in_truth(offer) -> None:
    data, truth, model = offer
    fitted = model.fitted
    effects = true_campaign_effects(truth, "retention_offer", 12).set_index("customer_id").loc[fitted["customer_id"]]
    true_rate = 1 - effects["churn_treated"] / effects["churn_control"]
    # out-of-fold estimates (each customer's from models fitted without her) follow the true save rates
    assert np.corrcoef(fitted["save_rate"], true_rate)[0, 1] > 0.4
    assert (true_rate < 0).mean() > 0.1 and (fitted["save_rate"] < 0).mean() > 0.1  # some are pushed away
    # both campaigns target the randomised customers, valued at two years of margin, churn without the offer
    # predicted out of fold; the flat one at the measured save rate, the other at each customer's
    value = 24 * effects["monthly_margin"].to_numpy()
    risk = fitted["churn_without"].to_numpy()
    flat = campaign_roi(risk, value, measured_save_rate(data).save_rate, CONTACT, INCENTIVE)
    each = campaign_roi(risk, value, fitted["save_rate"].to_numpy(), CONTACT, INCENTIVE)
    true_flat = true_campaign_profit(effects, flat.profit > 0, value, CONTACT, INCENTIVE)
    true_each = true_campaign_profit(effects, each.profit > 0, value, CONTACT, INCENTIVE)
    assert true_each >= true_flat and true_each > 0, (true_each, true_flat)
    # the weighted mean of the per-customer save rates is the campaign's save rate (1 - risk ratio)
    assert model.summary()["save_rate_weighted"].iloc[0] == pytest.approx(measured_save_rate(data).save_rate,
                                                                           abs=0.05)


def test_support_is_the_randomised_customers_risk_and_traits(offer) -> None:
    data, _, model = offer
    s = model.support
    assert 0 < s.risk_low < s.risk_high < 1 and "plan" in s.levels and "tenure_months" in s.ranges
    risk = churn_risk(data)
    inside = s.inside(risk.active, risk.risk)
    # the offer randomised the riskier half of its month's customers: many now are less at risk than any of them
    assert 0.2 < inside.mean() < 0.9
    assert (risk.risk[~inside] < s.risk_low).mean() > 0.5
    assert "churn risk" in s.rule() and "tenure_months" in s.rule()
    rates = model.predict(risk.active)
    assert rates.shape == (len(risk.active),) and (rates <= 1).all()


def test_support_and_design_by_hand() -> None:
    s = Support(0.1, 0.3, {"x": (0.0, 5.0)}, {"plan": ["basic", "premium"]})
    frame = pd.DataFrame({"x": [1.0, 6.0, np.nan, 2.0, 2.0], "plan": ["basic", "basic", "premium", "gold", "basic"]})
    risk = np.array([0.2, 0.2, 0.2, 0.2, 0.5])
    assert s.inside(frame, risk).tolist() == [True, False, True, False, False]
    assert design(frame, {"plan": ["basic", "premium"]})[:, 1].tolist() == [0, 0, 1, 0, 0]


def test_too_few_customers_are_refused(offer) -> None:
    data, _, _ = offer
    t = data.treatments
    few = t[(t["campaign"] != "retention_offer") | (t.index % 20 == 0)]
    small = type(data)(data.customers, data.contacts, data.surveys, data.observed_until, treatments=few)
    with pytest.raises(NotEstimableError, match="smaller arm") as err:
        fit_campaign_save_rates(small, "retention_offer", ["tenure_months"], lambda f: np.zeros(len(f)))
    assert err.value.needs == "more customers"


def test_a_large_campaign_is_modelled_on_a_stated_random_sample(offer) -> None:
    data, _, full = offer
    risk = churn_risk(data)
    capped = fit_campaign_save_rates(data, "retention_offer", effect_features(risk.active),
                                     risk.model.predict_proba, max_customers=1_500)
    assert not full.sample.sampled and full.sample.n_used == len(full.fitted)
    assert capped.sample.sampled and capped.sample.n_total == len(full.fitted)
    assert len(capped.fitted) == capped.sample.n_used == 1_500
    assert set(capped.fitted["customer_id"]) < set(full.fitted["customer_id"])
    assert "1,500 of" in capped.sample.describe("per-customer save rates")
