"""Campaign terms of the value-at-stake hazard model, by hand: which person-months carry a campaign's shift, its
traits centred or as levels, and what is left out for want of exits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.schema import CXData
from cxresearch.economics.value_at_stake_campaigns import EFFECT_MONTHS, campaign_terms, is_campaign_term

ORIGIN = pd.Timestamp("2024-01-01")


def _data(treatments: pd.DataFrame) -> CXData:
    """A dataset whose only content that matters here is its treatments table."""
    empty = pd.DataFrame({"customer_id": pd.Series(dtype=str)})
    return CXData(empty, empty, empty, observed_until=pd.Timestamp("2026-01-01"), treatments=treatments)


def _long(customers: list[str], months: int, events: dict[str, int]) -> pd.DataFrame:
    """Person-months of `customers` from calendar month 0 to `months` - 1, with an exit in the months `events`."""
    long = pd.DataFrame([(c, m) for c in customers for m in range(months)], columns=["customer_id", "month"])
    long["event"] = [events.get(c) == m for c, m in zip(long["customer_id"], long["month"])]
    return long


def test_treated_months_carry_the_shift_and_its_traits_the_control_arm_none():
    treatments = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "campaign": "offer", "arm": ["treatment", "treatment", "control"],
        "assigned_at": pd.to_datetime(["2024-03-15", "2024-05-02", "2024-03-15"]),
        "covariate_effort": [5.0, 3.0, 7.0], "covariate_plan": ["basic", "premium", "basic"]})
    long = _long(["a", "b", "c"], 20, {})
    # exits in the treated months (21): enough for the campaign and one trait, not for the premium level (b's 9)
    long.loc[(long["customer_id"] == "a") & long["month"].between(2, 13), "event"] = True
    long.loc[(long["customer_id"] == "b") & long["month"].between(4, 12), "event"] = True
    notes: list[str] = []
    terms = campaign_terms(_data(treatments), long, ORIGIN, notes)
    assert list(terms.columns) == ["campaign[offer]", "campaign[offer]:effort"]
    assert all(is_campaign_term(c) for c in terms.columns)
    on = terms["campaign[offer]"].to_numpy().reshape(3, 20)
    # a: assigned in March (month 2) for 12 months; b: May (month 4); c: the holdout, never
    assert on[0].tolist() == [0, 0] + [1] * EFFECT_MONTHS + [0] * 6
    assert on[1].tolist() == [0] * 4 + [1] * EFFECT_MONTHS + [0] * 4
    assert not on[2].any()
    # effort centred on the treated customers' mean (4): +1 for a, -1 for b, in their treated months only
    assert terms["campaign[offer]:effort"].to_numpy().reshape(3, 20)[:, 5].tolist() == [1.0, -1.0, 0.0]
    assert "premium" not in " ".join(terms.columns)
    assert any("offer (1 traits)" in n for n in notes)


def test_a_level_with_enough_exits_gets_its_own_term():
    ids = [f"c{i}" for i in range(30)]
    treatments = pd.DataFrame({"customer_id": ids, "campaign": "offer", "arm": "treatment",
                               "assigned_at": pd.Timestamp("2024-02-01"),
                               "covariate_plan": ["basic"] * 18 + ["premium"] * 12})
    long = _long(ids, 10, {c: 5 for c in ids})
    terms = campaign_terms(_data(treatments), long, ORIGIN, [])
    assert list(terms.columns) == ["campaign[offer]", "campaign[offer]:plan=premium"]
    level = terms["campaign[offer]:plan=premium"].to_numpy().reshape(30, 10)
    assert level[18:, 1:].all() and not level[:18].any() and not level[:, 0].any()


def test_campaigns_with_too_few_exits_and_data_without_treatments_add_nothing():
    treatments = pd.DataFrame({"customer_id": ["a"], "campaign": "call", "arm": "treatment",
                               "assigned_at": pd.Timestamp("2024-02-01")})
    long = _long(["a", "b"], 6, {"a": 3})
    notes: list[str] = []
    assert campaign_terms(_data(treatments), long, ORIGIN, notes).empty
    assert notes == [("campaigns not modelled, fewer than 10 exits while their effect may last: call (1 exits among "
                      "its treated customers' months)")]
    assert campaign_terms(_data(None), long, ORIGIN, []).shape == (12, 0)


def test_a_missing_trait_counts_as_the_mean():
    ids = [f"c{i}" for i in range(24)]
    effort = [np.nan] + [4.0, 6.0] * 11 + [5.0]
    treatments = pd.DataFrame({"customer_id": ids, "campaign": "offer", "arm": "treatment",
                               "assigned_at": pd.Timestamp("2024-01-01"), "covariate_effort": effort})
    terms = campaign_terms(_data(treatments), _long(ids, 2, {c: 1 for c in ids}), ORIGIN, [])
    assert terms["campaign[offer]:effort"].to_numpy().reshape(24, 2)[:, 0] == pytest.approx(
        [0.0] + [-1.0, 1.0] * 11 + [0.0])


def test_too_few_exits_per_term_give_one_shift_for_all():
    # 15 exits: enough for the campaign's shift (10), not for it and two traits (30)
    ids = [f"c{i}" for i in range(15)]
    treatments = pd.DataFrame({"customer_id": ids, "campaign": "offer", "arm": "treatment",
                               "assigned_at": pd.Timestamp("2024-01-01"),
                               "covariate_effort": np.arange(15.0), "covariate_tenure": np.arange(15.0) ** 2})
    notes: list[str] = []
    terms = campaign_terms(_data(treatments), _long(ids, 3, {c: 2 for c in ids}), ORIGIN, notes)
    assert list(terms.columns) == ["campaign[offer]"]
    assert "offer (one shift for all: 15 exits are too few for its 2 traits at 10 exits per term)" in notes[0]
