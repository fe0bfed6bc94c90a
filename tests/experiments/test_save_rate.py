"""The save rate a retention offer's randomised holdout measures: one minus the risk ratio of churn within the
horizon, checked on a hand-built campaign, against the demo world's true per-customer effects, and carried into
the retention economics (its CI, not an assumed range)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_campaigns import _world

from cxresearch.data.load import load_source
from cxresearch.data.schema import TEXT_DTYPE
from cxresearch.economics import RetentionCampaign, retention_vs_acquisition
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.save_rate import measured_save_rate, retention_campaign
from cxresearch.features.snapshot import lifetimes
from cxresearch.stats.intervals import Z95
from cxresearch.truth.campaigns import true_campaign_effects


def test_one_minus_the_risk_ratio_with_katz_interval_by_hand() -> None:
    data, months, arm = _world(n=2000, seed=4)
    got = measured_save_rate(data, horizon_months=12)
    churned = months <= 12
    p1, p0 = churned[arm == "treatment"].mean(), churned[arm == "control"].mean()
    n1, n0 = (arm == "treatment").sum(), (arm == "control").sum()
    se = np.sqrt((1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0))
    assert got.campaign == "offer" and (got.treated, got.control) == (n1, n0)
    assert got.save_rate == pytest.approx(1 - p1 / p0, abs=1e-12)
    assert (got.ci_low, got.ci_high) == pytest.approx((1 - p1 / p0 * np.exp(Z95 * se), 1 - p1 / p0 * np.exp(-Z95 * se)))
    assert got.usable and "kept" in got.sentence()


def test_campaigns_found_by_name_or_declared_and_refused_with_the_reason() -> None:
    data, _, _ = _world(n=200)
    assert retention_campaign(data) == "offer"
    renamed = data.treatments.assign(campaign=pd.Series(["newsletter"] * len(data.treatments), dtype=TEXT_DTYPE))
    other = type(data)(data.customers, data.contacts, data.surveys, data.observed_until, treatments=renamed)
    with pytest.raises(NotEstimableError, match="no campaign is marked as a retention offer") as err:
        retention_campaign(other)
    assert err.value.needs == "a randomised retention campaign"
    assert retention_campaign(other, "newsletter") == "newsletter"
    with pytest.raises(NotEstimableError, match="not in the treatments table"):
        retention_campaign(other, "winback")


def test_the_demo_worlds_offer_save_rate_covers_the_truth(demo_world: Path) -> None:
    data = load_source(demo_world)
    got = measured_save_rate(data, horizon_months=12)
    truth = true_campaign_effects(json.loads((demo_world / "truth.json").read_text()), got.campaign, 12)
    true_rate = 1 - truth["churn_treated"].mean() / truth["churn_control"].mean()
    assert got.ci_low < true_rate < got.ci_high
    assert 0 < got.ci_low  # the offer keeps customers measurably


def test_a_measured_save_rate_gives_the_cost_ratio_a_confidence_interval() -> None:
    data, _, _ = _world(n=2000, seed=4)
    got = measured_save_rate(data, horizon_months=12)
    lt = lifetimes(data).assign(acquisition_cost=300.0)
    campaign = RetentionCampaign(25.0, got.save_rate, contacted=got.treated, save_rate_ci=(got.ci_low, got.ci_high))
    econ = retention_vs_acquisition(lt, campaign, clv=None)
    assert econ.save_rate_measured and econ.save_rate_range == pytest.approx((got.ci_low, got.ci_high))
    ratio = econ.cost_ratio
    # the ratio is CAC x save rate / cost: its log-scale CI is the save rate's, read off its interval
    se_log = (got.ci_high - got.ci_low) / (2 * Z95) / got.save_rate
    assert ratio.value == pytest.approx(300.0 * got.save_rate / 25.0)
    assert np.log(ratio.ci_high / ratio.value) == pytest.approx(Z95 * se_log, rel=1e-6)
