"""Known truth of the value at stake: estimates against the simulator's own hazard model on the same customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.simulate import simulate
from cxresearch.economics.value_at_stake import value_at_stake
from cxresearch.truth.value_at_stake import hazard_truth_available, true_log_hazard, value_at_stake_recovery


def _recovery(effects: dict[str, float] | None) -> pd.DataFrame:
    """Recovery rows on a 6,000-customer, 24-month world (seed 1), 100 bootstrap refits."""
    world = simulate(6_000, 24, seed=1, effects=effects, reasons=False)
    result = value_at_stake(world.to_cxdata(), n_boot=100, max_model_customers=None, seed=0)
    return value_at_stake_recovery(result, world.truth)


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
