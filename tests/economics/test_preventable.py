"""Tests for churn a retention campaign can prevent: counts by reason, and campaign economics that scale with the
preventable share while the lifetime value keeps every exit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxresearch.economics import RetentionCampaign, campaign_roi, preventable_churn, retention_vs_acquisition


def customers() -> tuple[pd.DataFrame, pd.DataFrame]:
    """10 customers, 8 churned: 1 moved, 1 involuntary, 5 for price, 1 without a reason; 2 active."""
    ids = [f"c{i}" for i in range(10)]
    reasons = ["moved", "involuntary", "price", "price", "price", "price", "price", None, None, None]
    lifetimes = pd.DataFrame({"customer_id": ids, "duration_months": np.arange(1.0, 11.0),
                              "event": [True] * 8 + [False] * 2, "monthly_margin": 20.0})
    return lifetimes, pd.DataFrame({"customer_id": ids, "end_reason": reasons})


def test_excluded_exits_are_counted_by_reason() -> None:
    lifetimes, reasons = customers()
    prevent = preventable_churn(lifetimes, reasons)
    assert prevent.applied and prevent.exits == 8
    assert prevent.excluded == {"moved": 1, "involuntary": 1}
    # the exit without a recorded reason counts as preventable
    assert prevent.share == pytest.approx(6 / 8)
    assert prevent.sentence().startswith("2 of 8 exits (25%) were moves or involuntary exits (non-payment): no "
                                         "retention offer prevents them")


def test_without_reasons_or_when_switched_off_all_churn_is_preventable() -> None:
    lifetimes, reasons = customers()
    off = preventable_churn(lifetimes, reasons, enabled=False)
    none = preventable_churn(lifetimes, reasons.assign(end_reason=None))
    assert off.share == none.share == 1.0 and not off.applied and not none.applied
    assert "no end_reason" in none.sentence() and "preventable_only is off" in off.sentence()


def test_campaign_value_scales_with_the_preventable_share() -> None:
    rng = np.random.default_rng(1)
    risk, value = rng.uniform(0.05, 0.6, 500), rng.uniform(200, 2000, 500)
    full = campaign_roi(risk, value, 0.2, 5.0, 0.0)
    share = 0.75
    scaled = campaign_roi(risk * share, value, 0.2, 5.0, 0.0)
    everyone = {"n_contacted": 500}
    row_full, row_scaled = (r.curve.set_index("n_contacted").loc[everyone["n_contacted"]] for r in (full, scaled))
    # contacting everyone: saves and the value saved shrink by the share, the spend does not
    assert row_scaled["expected_saved"] == pytest.approx(share * row_full["expected_saved"])
    assert row_scaled["expected_value"] == pytest.approx(share * row_full["expected_value"])
    assert row_scaled["spend"] == pytest.approx(row_full["spend"])
    assert scaled.optimum.expected_profit < full.optimum.expected_profit


def test_an_assumed_save_rate_applies_to_preventable_churn_only() -> None:
    lifetimes, _ = customers()
    lifetimes["acquisition_cost"] = 200.0
    base = RetentionCampaign(25.0, 0.2, 5.0, save_rate_range=(0.1, 0.3))
    scaled = RetentionCampaign(25.0, 0.2, 5.0, save_rate_range=(0.1, 0.3), preventable_share=0.75)
    assert scaled.kept_share == pytest.approx(0.15) and scaled.kept_range == pytest.approx((0.075, 0.225))
    econ_base, econ = (retention_vs_acquisition(lifetimes, c, clv=None) for c in (base, scaled))
    # cost per saved customer = 30 / (0.2 x 0.75) = 200; the cost ratio shrinks by the share
    assert econ.retention_cost_per_save.value == pytest.approx(200.0)
    assert econ.cost_ratio.value == pytest.approx(0.75 * econ_base.cost_ratio.value)
    assert econ.save_rate_range == pytest.approx((0.075, 0.225))
    # the break-even thresholds are shares of contacted at-risk customers: unchanged; the CLV keeps every exit
    assert econ.break_even_save_rate.value == econ_base.break_even_save_rate.value
    assert econ.clv.value == econ_base.clv.value
    # a measured save rate already counts customers no offer keeps (the control group has them too)
    assert RetentionCampaign(25.0, 0.2, contacted=400, preventable_share=0.75).kept_share == 0.2
