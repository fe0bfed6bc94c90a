"""Tests for campaign targeting and the Monte Carlo sensitivity: hand arithmetic, known distributions, seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxresearch.economics import (
    Uncertain,
    campaign_roi,
    clv_from_survival,
    monte_carlo,
    residual_clv,
    retention_verdict,
    retention_vs_acquisition_model,
    retention_vs_acquisition_monte_carlo,
)
from cxresearch.economics.valuation import Valuation


def test_campaign_profit_by_hand():
    risk = np.array([0.5, 0.1, 0.8, 0.2])
    value = np.array([1000.0, 1000.0, 100.0, 500.0])
    res = campaign_roi(risk, value, uplift=0.2, contact_cost=10.0, incentive_cost=5.0)
    # pi = p u (V - delta) - (1 - p) delta - f
    expected = 0.2 * risk * (value - 5) - (1 - risk) * 5 - 10
    assert res.profit == pytest.approx(expected)  # [86.5, 5.4, 4.16, 5.8]
    assert res.ranking.tolist() == [0, 3, 1, 2]
    assert (res.profit > 0).all() and res.optimum["n_contacted"] == 4
    spend = 10 + 5 * (0.2 * risk + 1 - risk)
    assert res.curve["spend"].iloc[-1] == pytest.approx(spend.sum())
    assert res.curve["expected_saved"].iloc[-1] == pytest.approx(0.2 * risk.sum())
    assert res.at_budget(spend[0] + 1.0)["n_contacted"] == 1
    assert res.curve["roi"].iloc[1] == pytest.approx(expected[0] / spend[0])


def test_campaign_stops_where_the_next_contact_loses_money():
    rng = np.random.default_rng(0)
    risk, value = rng.uniform(0, 0.5, 500), rng.gamma(2.0, 200.0, 500)
    res = campaign_roi(risk, value, uplift=0.15, contact_cost=20.0)
    best = res.optimum
    assert best["n_contacted"] == (res.profit > 0).sum()
    assert best["expected_profit"] == pytest.approx(res.profit[res.profit > 0].sum())
    estimates = res.to_estimates()
    assert estimates["campaign_optimal_budget"].value == pytest.approx(20.0 * best["n_contacted"])
    with pytest.raises(ValueError, match="risk"):
        campaign_roi(np.array([1.2]), np.array([1.0]), 0.1, 1.0)


def test_per_customer_uplift_by_hand():
    risk = np.array([0.5, 0.1, 0.8, 0.2])
    value = np.array([1000.0, 1000.0, 100.0, 500.0])
    uplift = np.array([0.2, -0.5, 0.4, 0.0])  # the second customer is pushed away by a contact
    res = campaign_roi(risk, value, uplift, contact_cost=10.0, incentive_cost=5.0)
    saved = risk * uplift  # [0.1, -0.05, 0.32, 0]: reductions in churn probability
    # pi = s (V - delta) - (1 - p) delta - f; those who stay once contacted (1 - p + s) take the incentive
    expected = saved * (value - 5) - (1 - risk) * 5 - 10  # [86.5, -64.25, 19.4, -14]
    assert res.profit == pytest.approx(expected)
    assert res.ranking.tolist()[:2] == [0, 2] and res.optimum["n_contacted"] == 2
    assert res.curve["expected_saved"].iloc[-1] == pytest.approx(saved.sum())
    assert res.curve["spend"].iloc[-1] == pytest.approx((10 + 5 * (1 - risk + saved)).sum())
    assert res.per_customer and res.uplift_text == "uplift per customer"
    # one uplift for everyone is the same campaign as that uplift repeated per customer
    flat = campaign_roi(risk, value, 0.2, 10.0, 5.0)
    assert campaign_roi(risk, value, np.full(4, 0.2), 10.0, 5.0).profit == pytest.approx(flat.profit)
    assert not flat.per_customer and flat.uplift_text == "uplift 20%"
    # a contact cannot push churn above 1: uplift -5 at risk 0.5 becomes -1 (churn 0.5 -> 1), with a note
    capped = campaign_roi(np.array([0.5]), np.array([100.0]), np.array([-5.0]), 1.0)
    assert capped.uplift[0] == pytest.approx(-1.0) and "above 1" in capped.notes[0]
    with pytest.raises(ValueError, match="at most 1"):
        campaign_roi(risk, value, np.array([0.2, 1.5, 0.0, 0.0]), 1.0)
    with pytest.raises(ValueError, match="differ in length"):
        campaign_roi(risk, value, np.array([0.2]), 1.0)


def linear(x: dict[str, np.ndarray]) -> np.ndarray:
    return 3 * x["a"] - x["b"] + 0 * x["c"]


INPUTS = {"a": Uncertain(0.0, 0.5, 1.0), "b": Uncertain(0.0, 1.0, 4.0), "c": Uncertain(-1.0, 0.0, 1.0)}


def test_monte_carlo_is_reproducible_with_a_seed():
    one = monte_carlo(linear, INPUTS, n_draws=2000, seed=7)
    two = monte_carlo(linear, INPUTS, n_draws=2000, seed=7)
    pd.testing.assert_frame_equal(one.draws, two.draws)
    assert one.probability().value == two.probability().value
    other = monte_carlo(linear, INPUTS, n_draws=2000, seed=8)
    assert not np.allclose(one.draws["output"], other.draws["output"])


def test_tornado_and_probability_against_known_values():
    res = monte_carlo(linear, INPUTS, n_draws=20000, seed=1)
    assert res.base == pytest.approx(3 * 0.5 - 1.0)
    # swings: a 3 x 1 = 3, b 4, c 0 -> order b, a, c
    assert res.tornado["input"].tolist() == ["b", "a", "c"]
    assert res.tornado["swing"].tolist() == pytest.approx([4.0, 3.0, 0.0])
    # triangular means: a 0.5, b 5/3 -> E[output] = 1.5 - 5/3
    assert res.draws["output"].mean() == pytest.approx(1.5 - 5 / 3, abs=0.03)
    # symmetric triangular(0, 0.5, 1): P(a > 0.5) = 1/2, inside the Monte Carlo interval
    half = monte_carlo(lambda x: x["a"] - 0.5, {"a": INPUTS["a"]}, n_draws=20000, seed=2).probability()
    assert half.ci_low < 50 < half.ci_high
    with pytest.raises(ValueError, match="low <= base <= high"):
        Uncertain(1.0, 0.0, 2.0)


def test_retention_vs_acquisition_model_by_hand():
    stream = np.full(12, 10.0)
    model = retention_vs_acquisition_model(stream, 0.5 * stream)
    x = {"save_rate": np.array([0.2]), "contact_cost": np.array([20.0]), "acquisition_cost": np.array([50.0]),
         "margin_multiplier": np.array([1.0]), "monthly_discount_rate": np.array([0.0])}
    # retention: 0.2 x 120 / 20 = 1.2 per unit; acquisition: 60 / 50 = 1.2 per unit -> a tie
    assert model(x)[0] == pytest.approx(0.0)
    assert model({**x, "save_rate": np.array([0.3])})[0] == pytest.approx(0.3 * 120 / 20 - 60 / 50)


def test_retention_monte_carlo_end_to_end_is_seeded():
    rng = np.random.default_rng(4)
    n = 3000
    life, censor = rng.exponential(1 / 0.03, n), rng.uniform(0, 36, n)
    df = pd.DataFrame({"duration_months": np.minimum(life, censor), "event": life <= censor,
                       "monthly_margin": 20.0})
    clv = clv_from_survival(df, Valuation(n_boot=0, horizon_months=36))
    resid = residual_clv(df, Valuation(n_boot=0, horizon_months=36))
    kwargs = dict(acquisition_cost=200.0, save_rate=0.2, contact_cost=30.0, n_draws=3000)
    one = retention_vs_acquisition_monte_carlo(clv, resid, seed=3, **kwargs)
    two = retention_vs_acquisition_monte_carlo(clv, resid, seed=3, **kwargs)
    assert one.probability().value == two.probability().value
    assert set(one.tornado["input"]) == {"save_rate", "contact_cost", "acquisition_cost", "margin_multiplier",
                                         "monthly_discount_rate"}
    # a memoryless world: a saved customer is worth a new one, so retention wins iff 0.2 / 30 > 1 / 200
    assert one.base > 0 and one.probability().value > 50
    assert retention_verdict(one.probability()).startswith("Retention spend")
