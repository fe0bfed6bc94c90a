"""Known truth of the value at stake: estimates against the simulator's own hazard model on the same customers, on
all churn and (where the world records reasons) on service-related churn with the other exits competing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.simulate import simulate
from cxresearch.economics.value_at_stake import value_at_stake
from cxresearch.truth.value_at_stake import (
    campaign_shift,
    hazard_truth_available,
    true_log_hazard,
    true_service_share,
    true_value_at_stake,
    value_at_stake_recovery,
)


def _estimate(effects: dict[str, float] | None, reasons: bool = False) -> tuple:
    """The estimate on a 6,000-customer, 24-month world (seed 1), 100 bootstrap refits, and the world's truth."""
    world = simulate(6_000, 24, seed=1, effects=effects, reasons=reasons)
    return value_at_stake(world.to_cxdata(), n_boot=100, max_model_customers=None, seed=0), world.truth


def _recovery(effects: dict[str, float] | None) -> pd.DataFrame:
    """Recovery rows on all churn (the world without reasons)."""
    return value_at_stake_recovery(*_estimate(effects))


@pytest.fixture(scope="module")
def recovery() -> pd.DataFrame:
    return _recovery(None)


def test_true_churners_avoided_inside_the_intervals_with_signs_right(recovery):
    churners = recovery[recovery["scale"] == "churners"].set_index("name")
    assert list(churners.index) == [f"value_at_stake[{k}]" for k in
                                    ("unresolved", "effort", "inconsistency", "follow_up", "joint")]
    assert churners["truth_in_ci"].sum() >= 4
    assert churners["same_direction"].map(bool).all()
    # the true values are far from zero: every interval excludes it
    assert (churners["ci_low"] > 0).all() and (churners["true"] > 5).all()


def test_true_margin_retained_inside_the_intervals(recovery):
    money = recovery[recovery["scale"] == "currency"]
    assert money["truth_in_ci"].sum() >= 4 and money["same_direction"].map(bool).all()
    # margin per churner avoided: between a month's and the horizon's margin of a basic-to-premium customer
    per_churner = money["true"].to_numpy() / recovery.loc[recovery["scale"] == "churners", "true"].to_numpy()
    assert ((per_churner > 15) & (per_churner < 45 * 60)).all()


def test_a_world_where_unresolved_contacts_do_not_matter_gives_an_interval_around_zero():
    rows = _recovery({"unresolved": 0.0}).set_index(["name", "scale"])
    unresolved = rows.loc[("value_at_stake[unresolved]", "churners")]
    assert unresolved["true"] == pytest.approx(0.0, abs=1e-9)
    assert unresolved["ci_low"] < 0 < unresolved["ci_high"]
    assert unresolved["same_direction"] is None


def test_true_log_hazard_by_hand_and_mood_averaged_by_quadrature():
    truth = simulate(50, 3, seed=0, reasons=False).truth
    frame = pd.DataFrame({"tenure": [2, 30], "contract": ["one_year", "month_to_month"], "plan": ["basic", "premium"],
                          "reactive_90d": [1, 0], "unresolved_90d": [1, 0], "proactive_90d": [0, 2],
                          "inconsistency_90d": [0, 1], "ces_centred_90d": [1.5, 0.0]})
    # by hand: intercept -3.45, tenure band 1-3 +0.6 / 25+ -0.2, one_year -0.9, premium -0.25, drivers' totals
    eta = np.array([-3.45 + 0.6 - 0.9 + 0.10 + 0.35 + 0.15 * 1.5, -3.45 - 0.2 - 0.25 - 0.20 * 2 + 0.40])
    z = np.random.default_rng(0).standard_normal(2_000_000)
    survive = [np.mean(np.exp(-np.exp(e - 0.40 * z))) for e in eta]
    assert np.exp(-np.exp(true_log_hazard(frame, truth))) == pytest.approx(survive, rel=2e-5)


def test_only_a_truth_with_the_hazard_model_is_used():
    assert hazard_truth_available(simulate(50, 3, seed=0, reasons=False).truth)
    assert not hazard_truth_available({}) and not hazard_truth_available(None)


@pytest.fixture(scope="module")
def service() -> tuple:
    return _estimate(None, reasons=True)


def test_service_churn_truth_inside_the_intervals_with_signs_right(service):
    result, truth = service
    assert result.basis == "service"
    recovery = value_at_stake_recovery(result, truth)
    for scale in ("churners", "currency"):
        rows = recovery[recovery["scale"] == scale]
        assert rows["truth_in_ci"].sum() >= 4 and rows["same_direction"].map(bool).all(), rows
        assert (rows["ci_low"] > 0).all()


def test_service_churn_truth_is_part_of_the_all_cause_truth(service):
    # the simulator's drivers raise every reason's hazard (through the common monthly hazard): acting on the service
    # exits alone avoids fewer churners than removing the lever's effect on every exit
    result, truth = service
    full = [s.kind != "realistic" for s in result.scenarios]
    only = true_value_at_stake(result, truth)[full]
    every = true_value_at_stake(dataclasses.replace(result, basis="all"), truth)[full]
    assert ((only["churners_avoided"] > 0) & (only["churners_avoided"] < every["churners_avoided"])).all()


def test_true_service_share_by_hand():
    truth = simulate(50, 3, seed=0, reasons=True).truth
    frame = pd.DataFrame({"ces_centred_90d": [0.0, 2.0], "unresolved_90d": [0, 1], "inconsistency_90d": [0, 1],
                          "plan": ["basic", "premium"]})
    margin = np.array([30.0, 50.0])
    # log relative hazards against moved: price, competitor, service, involuntary, other (data.simulate_reasons)
    logits = np.array([[-0.35 + 0.04 * 30, 0.40 + 0.02 * 30, 0.60, -0.70, -0.70],
                       [-0.35 + 0.04 * 50 - 0.50, 0.40 + 0.02 * 50 + 0.40, 0.60 + 0.35 * 2 + 0.45 + 0.60, -0.70,
                        -0.70]])
    expected = np.exp(logits[:, 2]) / (1.0 + np.exp(logits).sum(axis=1))
    assert true_service_share(frame, margin, truth) == pytest.approx(expected)
    assert hazard_truth_available(truth, "service")
    assert not hazard_truth_available(simulate(50, 3, seed=0, reasons=False).truth, "service")


def test_campaign_shift_adds_a_treated_customers_log_hazard_ratio_while_it_lasts():
    truth = {"campaigns": {"offer": {"month": 2, "effect_months": 3, "customers": {
        "customer_id": ["a", "b"], "treated": [True, False], "log_hazard_ratio": [-0.5, -0.7]}}}}
    frame = pd.DataFrame({"customer_id": ["a"] * 6 + ["b"] * 2, "month": [0, 1, 2, 3, 4, 5, 2, 3]})
    assert campaign_shift(frame, truth).tolist() == [0, 0, -0.5, -0.5, -0.5, 0, 0, 0]
    assert campaign_shift(frame, {}).tolist() == [0.0] * 8


def test_a_world_with_campaigns_is_recovered_with_the_campaigns_in_the_model():
    # the retention offer works less where effort is high and contacts unresolved: a model without the campaigns
    # read that as a steeper effort effect (10-30% high on 20,000-customer worlds); with each campaign's own shift,
    # varying with the traits recorded at assignment, the levers are recovered (seed 2 as well: 10 of 10; over
    # twelve 20,000-customer worlds 107 of 120 rows, README)
    world = simulate(6_000, 24, seed=1, campaigns=True)
    result = value_at_stake(world.to_cxdata(), n_boot=100, max_model_customers=None, seed=0)
    assert any(note.startswith("campaigns in the model") for note in result.notes)
    recovery = value_at_stake_recovery(result, world.truth)
    assert recovery["truth_in_ci"].sum() >= 8 and recovery["same_direction"].map(bool).all()
    effort = recovery.set_index(["name", "scale"]).loc[("value_at_stake[effort]", "churners")]
    assert abs(effort["estimate"] / effort["true"] - 1) < 0.3
