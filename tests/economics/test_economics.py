"""Tests for cxresearch.economics: CLV against closed forms, retention economics against hand arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from cxresearch.economics import (
    RetentionCampaign,
    Valuation,
    clv_from_survival,
    geometric_clv,
    residual_clv,
    retention_vs_acquisition,
    why_no_clv,
)
from cxresearch.economics.retention import ASSUMED, IMPOSSIBLE
from cxresearch.economics.survival_curve import product_limit_at, survival_with_tail
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import mean_t_interval, wilson_interval


def exponential_customers(n: int = 5000, hazard: float = 0.03, seed: int = 2, censor_max: float = 36.0) -> pd.DataFrame:
    """Exponential lifetimes with uniform censoring; margins gamma(mean 20), acquisition cost gamma(mean 200)."""
    rng = np.random.default_rng(seed)
    lifetime = rng.exponential(1 / hazard, n)
    censor = rng.uniform(0, censor_max, n)
    event = lifetime <= censor
    return pd.DataFrame(
        {
            "duration_months": np.minimum(lifetime, censor),
            "event": event,
            "active": ~event,
            "monthly_margin": rng.gamma(4.0, 5.0, n),
            "acquisition_cost": rng.gamma(4.0, 50.0, n),
            "acquisition_channel": rng.choice(["paid", "referral"], n),
        }
    )


def exponential_clv(hazard: float, margin: float, d: float, horizon: int) -> float:
    """Closed form: m * sum_{t=1..H} exp(-hazard t) / (1 + d)^t."""
    t = np.arange(1, horizon + 1)
    return float(margin * np.sum(np.exp(-hazard * t) / (1 + d) ** t))


def test_clv_without_churn_is_sum_of_margins():
    df = pd.DataFrame({"duration_months": np.linspace(12, 30, 50), "event": False, "monthly_margin": 10.0})
    res = clv_from_survival(df, Valuation(monthly_discount_rate=0.0, horizon_months=12, n_boot=50))
    row = res.summary().iloc[0]
    assert row["clv"] == 120.0
    assert row["ci_low"] == 120.0 and row["ci_high"] == 120.0
    assert row["n"] == 50 and row["monthly_margin"] == 10.0


def test_clv_exponential_matches_closed_form_within_ci():
    df = exponential_customers()
    res = clv_from_survival(df, Valuation(monthly_discount_rate=0.01, horizon_months=60))
    row = res.summary().iloc[0]
    truth = exponential_clv(0.03, df["monthly_margin"].mean(), 0.01, 60)
    assert row["ci_low"] < truth < row["ci_high"]
    assert row["clv"] == pytest.approx(truth, rel=0.05)
    # follow-up ends at 36 months, so the tail beyond it is extrapolated and the notes say with which curve
    assert any(f"beyond, a {row_tail}" in note for note in res.notes for row_tail in [res.table["tail"].iloc[0]])
    assert res.table["tail_hazard"].iloc[0] == pytest.approx(0.03, rel=0.25)


def test_clv_by_group_orders_by_hazard_and_is_deterministic():
    fast = exponential_customers(n=1500, hazard=0.06, seed=4).assign(plan="fast")
    slow = exponential_customers(n=1500, hazard=0.02, seed=5).assign(plan="slow")
    df = pd.concat([fast, slow], ignore_index=True)
    # the closed form is the constant hazard's: the tail is fixed so that the test is about the groups
    res = clv_from_survival(df, Valuation(n_boot=100, seed=1, tail="constant"), monthly_margin=20.0, group="plan")
    clv = res.summary().set_index("group")["clv"]
    assert clv["slow"] > clv["fast"]
    for plan, hazard in (("fast", 0.06), ("slow", 0.02)):
        row = res.summary().set_index("group").loc[plan]
        assert row["ci_low"] < exponential_clv(hazard, 20.0, 0.01, 60) < row["ci_high"]
    again = clv_from_survival(df, Valuation(n_boot=100, seed=1, tail="constant"), monthly_margin=20.0, group="plan")
    pd.testing.assert_frame_equal(res.summary(), again.summary())
    estimates = res.to_estimates()
    assert set(estimates) == {"clv_fast", "clv_slow"} and estimates["clv_slow"].unit == "currency"


def test_bootstrap_product_limit_equals_lifelines():
    df = exponential_customers(n=800).round({"duration_months": 0})  # ties on purpose
    t, e = df["duration_months"].to_numpy(), df["event"].to_numpy()
    at = np.arange(0, 40, 0.5)
    ref = KaplanMeierFitter().fit(t, e).survival_function_at_times(at).to_numpy()
    assert product_limit_at(t, e, at) == pytest.approx(ref)


def test_retention_ratio_on_hand_set_inputs():
    df = exponential_customers(n=2000)
    df["acquisition_cost"] = 700.0 + np.tile([-10.0, 10.0], 1000)  # mean 700, tiny spread
    econ = retention_vs_acquisition(df, RetentionCampaign(20.0, 0.25), clv=Estimate(500.0, "currency", "CLV"))
    assert econ.acquisition_cost.value == pytest.approx(700.0)
    assert econ.retention_cost_per_save.value == pytest.approx(80.0)  # 20 / 0.25
    assert econ.cost_ratio.value == pytest.approx(700.0 / 80.0)  # 8.75
    # the save rate is assumed: no CI on the ratio and no verdict on the 7x claim, only the save rates that decide it
    assert econ.cost_ratio.ci_low is None and econ.claim_verdict == ASSUMED
    assert econ.break_even_save_rate.value == pytest.approx(100 * 20.0 / 700.0)  # 2.86%: cost per save = CAC
    assert econ.claim_save_rate.value == pytest.approx(100 * 7 * 20.0 / 700.0)  # 20%: 700 x 0.20 / 20 = 7
    assert econ.save_rate_range == pytest.approx((0.125, 0.375)) and not econ.save_rate_measured
    assert econ.break_even_uplift.value == pytest.approx(100 * 20.0 / 500.0)  # 4% of contacted must be saved
    assert set(econ.acquisition_by_channel["channel"]) == {"paid", "referral"}
    assert "acquisition_to_retention_cost_ratio" in econ.summary().index


def test_retention_claim_verdicts_follow_the_interval():
    df = exponential_customers(n=2000).drop(columns="acquisition_cost")
    value = Estimate(500.0, "currency", "CLV", 450.0, 550.0)
    # cost known, save rate measured on 50 contacts: ratio 200 * 0.25 / 20 = 2.5 (well below 7)
    low = retention_vs_acquisition(df, RetentionCampaign(20.0, 0.25, contacted=50), acquisition_cost=200.0, clv=value)
    assert low.cost_ratio.value == pytest.approx(2.5) and low.claim_verdict == "contradicted"
    assert low.retention_cost_per_save.ci_low < 80.0 < low.retention_cost_per_save.ci_high
    assert low.break_even_uplift.ci_low == pytest.approx(100 * 20 / 550) and low.break_even_uplift.ci_high == pytest.approx(100 * 20 / 450)
    # ratio 7.0 with a save rate from only 20 contacts: the interval straddles 7
    mid = retention_vs_acquisition(df, RetentionCampaign(20.0, 0.25, contacted=20), acquisition_cost=560.0, clv=value)
    assert mid.cost_ratio.value == pytest.approx(7.0) and mid.claim_verdict == "inconclusive"
    assert any("no data, no CI" in note for note in mid.notes)
    # measured save rate but a ratio that even saving everyone cannot lift to 7: not possible at these costs
    none = retention_vs_acquisition(df, RetentionCampaign(20.0, 0.25, contacted=500), acquisition_cost=100.0, clv=value)
    assert none.claim_save_rate.value == pytest.approx(140.0) and none.claim_verdict == IMPOSSIBLE


def test_retention_uplift_constant_hazard_arithmetic():
    df = exponential_customers(n=3000)
    econ = retention_vs_acquisition(df, RetentionCampaign(20.0, 0.25), clv=Estimate(500.0, "currency", "CLV"),
                                    valuation=Valuation(monthly_discount_rate=0.0, horizon_months=120))
    lam = df["event"].sum() / df["duration_months"].sum()
    r = np.exp(-12 * lam)
    assert econ.annual_retention.value == pytest.approx(100 * r)
    assert econ.annual_retention.ci_low < 100 * np.exp(-12 * 0.03) < econ.annual_retention.ci_high

    def geometric(annual: float) -> float:
        q = annual ** (1 / 12)
        return float(df["monthly_margin"].mean() * np.sum(q ** np.arange(1, 121)))

    change = geometric(r + 0.05) / geometric(r) - 1
    assert econ.clv_change_pct.value == pytest.approx(100 * change)
    per_customer = geometric(r + 0.05) - geometric(r)
    assert econ.portfolio_clv_change.value == pytest.approx(per_customer * df["active"].sum())
    assert econ.clv_change_pct.ci_low <= econ.clv_change_pct.value <= econ.clv_change_pct.ci_high


def test_retention_default_clv_from_survival():
    df = exponential_customers(n=1000)
    econ = retention_vs_acquisition(df, RetentionCampaign(20.0, 0.25), valuation=Valuation(n_boot=50))
    assert econ.clv.ci_low < econ.clv.value < econ.clv.ci_high
    assert econ.break_even_uplift.value == pytest.approx(100 * 20.0 / econ.clv.value)


def test_wilson_interval_known_value():
    lo, hi = wilson_interval(0.25, 400)
    assert (lo, hi) == pytest.approx((0.2100, 0.2948), abs=5e-4)


def test_retention_needs_some_acquisition_cost():
    df = exponential_customers(n=200).drop(columns="acquisition_cost")
    with pytest.raises(ValueError, match="acquisition_cost"):
        retention_vs_acquisition(df, RetentionCampaign(20.0, 0.25), clv=Estimate(500.0, "currency", "CLV"))


def truncated_exponential_customers(n: int = 6000, hazard: float = 0.03, seed: int = 7) -> pd.DataFrame:
    """Exponential lifetimes; half signed up up to 36 months before observation began (seen only if still active,
    entry = tenure then), half during the 24-month window (entry 0); follow-up ends with the window."""
    rng = np.random.default_rng(seed)
    lifetime = rng.exponential(1 / hazard, n)
    before = rng.random(n) < 0.5
    entry = np.where(before, rng.uniform(0, 36, n), 0.0)
    censor = np.where(before, entry + 24, rng.uniform(0, 24, n))
    event = lifetime <= censor
    keep = lifetime > entry
    return pd.DataFrame(
        {
            "duration_months": np.minimum(lifetime, censor),
            "event": event,
            "active": ~event,
            "entry_months": entry,
            "monthly_margin": rng.gamma(4.0, 5.0, n),
            "acquisition_cost": rng.gamma(4.0, 50.0, n),
        }
    )[keep].reset_index(drop=True)


def test_bootstrap_product_limit_with_entry_equals_lifelines():
    df = truncated_exponential_customers(n=1500).round({"duration_months": 0, "entry_months": 0})
    df = df[df["entry_months"] <= df["duration_months"]]
    t, e, a = df["duration_months"].to_numpy(), df["event"].to_numpy(), df["entry_months"].to_numpy()
    at = np.arange(0, 60, 0.5)
    ref = KaplanMeierFitter().fit(t, e, entry=a).survival_function_at_times(at).to_numpy()
    assert product_limit_at(t, e, at, a) == pytest.approx(ref)


def test_clv_with_entry_matches_closed_form_and_naive_is_optimistic():
    df = truncated_exponential_customers()
    res = clv_from_survival(df, Valuation(horizon_months=60, n_boot=100, entry="entry_months"), monthly_margin=20.0)
    row = res.summary().iloc[0]
    truth = exponential_clv(0.03, 20.0, 0.01, 60)
    assert row["ci_low"] < truth < row["ci_high"]
    assert res.table["tail_hazard"].iloc[0] == pytest.approx(0.03, rel=0.4)  # ~40 churns in the tail window
    naive = clv_from_survival(df, Valuation(horizon_months=60, n_boot=100), monthly_margin=20.0).summary().iloc[0]
    assert naive["ci_low"] > truth


def test_retention_with_entry_uses_exposure_after_entry():
    df = truncated_exponential_customers(n=4000)
    res = retention_vs_acquisition(df, RetentionCampaign(10.0, 0.2), valuation=Valuation(n_boot=30, entry="entry_months"))
    lam = df["event"].sum() / (df["duration_months"] - df["entry_months"]).sum()
    assert res.annual_retention.value == pytest.approx(100 * np.exp(-12 * lam))
    assert res.annual_retention.ci_low < 100 * np.exp(-12 * 0.03) < res.annual_retention.ci_high


def test_tail_exposure_counts_months_after_entry_only():
    t = np.array([5.0, 14, 20, 20])
    e = np.array([True, True, False, False])
    entry = np.array([0.0, 10, 12, 0])
    # at risk at 20: the two with duration 20 (entries 12, 0 < 20), so T_c = 20 with min_at_risk 2; window (8, 20]
    _, t_c, lam, _ = survival_with_tail(t, e, np.arange(1.0, 25), 2, entry=entry)
    assert t_c == 20.0
    assert lam == pytest.approx(1 / (0 + (14 - 10) + (20 - 12) + (20 - 8)))
    _, _, naive, _ = survival_with_tail(t, e, np.arange(1.0, 25), 2)
    assert naive == pytest.approx(1 / (0 + 6 + 12 + 12))


def test_geometric_clv_closed_form():
    q, m, d = 0.95, 30.0, 0.01
    t = np.arange(1, 25)
    assert geometric_clv(q, m, d, 24) == pytest.approx(m * np.sum((q / (1 + d)) ** t))
    assert geometric_clv(q, m, d, None) == pytest.approx(m * (q / (1 + d)) / (1 - q / (1 + d)))
    assert geometric_clv(1.0, m, 0.0, 12) == 12 * m


def test_clv_in_a_constant_retention_world_equals_the_geometric_closed_form():
    # every month exactly a share 1 - q of the customers still there leave (at month ends), nobody censored:
    # the KM curve is q^t up to rounding, so CLV = m sum_{t=1..H} q^t / (1 + d)^t (margin at each month end)
    q, n0, months = 0.96, 200_000, 150
    alive = np.rint(n0 * q ** np.arange(months + 1)).astype(int)
    leaving = -np.diff(alive)
    durations = np.repeat(np.arange(1, months + 1, dtype=float), leaving)
    df = pd.DataFrame({
        "duration_months": np.r_[durations, np.full(alive[-1], float(months))],
        "event": np.r_[np.ones(len(durations), bool), np.zeros(alive[-1], bool)],
    })
    res = clv_from_survival(df, Valuation(monthly_discount_rate=0.01, horizon_months=60, n_boot=0), monthly_margin=25.0)
    assert res.summary()["clv"].iloc[0] == pytest.approx(geometric_clv(q, 25.0, 0.01, 60), rel=1e-4)


def test_residual_clv_is_memoryless_under_a_constant_hazard():
    df = exponential_customers(n=5000)
    res = residual_clv(df, Valuation(monthly_discount_rate=0.01, horizon_months=60, n_boot=100), monthly_margin=20.0)
    truth = geometric_clv(np.exp(-0.03), 20.0, 0.01, 60)  # same as a new customer's CLV
    assert res.mean.ci_low < truth < res.mean.ci_high
    assert res.mean.n == int((~df["event"]).sum()) and res.total.value == pytest.approx(res.mean.value * res.mean.n)
    assert len(res.stream) == 60 and res.stream[0] == pytest.approx(20.0 * np.exp(-0.03), rel=0.05)


def test_residual_clv_by_hand_without_churn_and_for_given_customers():
    df = pd.DataFrame({"duration_months": np.linspace(12, 30, 50), "event": False, "monthly_margin": 10.0})
    df.loc[0, "event"] = True  # one churner so the curve is estimable; it is not a current customer
    df.loc[0, "duration_months"] = 40.0
    res = residual_clv(df, Valuation(monthly_discount_rate=0.0, horizon_months=6, n_boot=20))
    assert res.mean.n == 49
    assert res.customers["residual_clv"].max() == pytest.approx(60.0)  # no one leaves in the 6 months ahead
    later = pd.DataFrame({"customer_id": ["x"], "tenure_months": [36.0], "monthly_margin": [5.0]})
    one = residual_clv(df, Valuation(monthly_discount_rate=0.0, horizon_months=6, n_boot=0), current=later,
                       min_at_risk=1).customers
    # KM used to the end: at 36 months the one customer at risk leaves at 40, S(40)/S(36) = 0 -> months 37..39 pay
    assert one["customer_id"].tolist() == ["x"] and one["residual_clv"].iloc[0] == pytest.approx(15.0)


def test_clv_per_customer_names_the_stated_assumptions():
    df = exponential_customers(n=2000)
    res = clv_from_survival(df, Valuation(monthly_discount_rate=0.01, horizon_months=24, n_boot=20, currency="USD"))
    assumption = "the churn flag covers the last 3 months (churn_period_months = 3)"
    est = res.per_customer([assumption])
    row = res.summary().iloc[0]
    assert est.value == row["clv"] and (est.ci_low, est.ci_high) == (row["ci_low"], row["ci_high"])
    assert est.unit == "USD" and est.label.startswith("Lifetime value of a new customer over 24 months")
    assert est.note.endswith(assumption)
    with pytest.raises(ValueError, match="overall"):
        clv_from_survival(df.assign(g=np.arange(len(df)) % 2), Valuation(n_boot=0), group="g").per_customer()


def test_why_no_clv_names_the_missing_input():
    df = pd.DataFrame({"duration_months": [3.0, 5.0], "event": [False, True], "monthly_margin": [10.0, 12.0]})
    assert why_no_clv(df) == ("", "")
    assert why_no_clv(df.assign(event=False))[1] == "churners"
    assert why_no_clv(df.assign(monthly_margin=np.nan)) == ("the data has no monthly margins", "monthly margins")


def test_mean_ci_of_costs_stays_non_negative():
    # nine free acquisitions and one at 100: mean 10, sd 31.62, t(9) 2.262 -> 10 -/+ 22.62; a cost is never < 0
    mean, low, high = mean_t_interval(np.r_[np.zeros(9), 100.0])
    assert mean == 10.0 and low == 0.0 and high == pytest.approx(10 + 2.2622 * 31.623 / np.sqrt(10), abs=0.01)
    # values that can be negative (margins) keep the plain t-interval
    assert mean_t_interval(np.r_[np.full(9, -1.0), 100.0])[1] < 0
