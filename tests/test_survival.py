"""Tests for cxresearch.survival: numbers checked against hand computation and simulated truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from cxresearch.survival import fit_cox, kaplan_meier, logrank, rmst

# Tiny hand-counted example: 10 customers, months and churn flags.
TINY_T = [1, 2, 2, 3, 5, 6, 7, 8, 12, 14]
TINY_E = [1, 1, 0, 1, 0, 1, 1, 0, 1, 0]


@pytest.fixture
def tiny() -> pd.DataFrame:
    return pd.DataFrame({"duration_months": TINY_T, "event": np.array(TINY_E, dtype=bool)})


def tiny_survival() -> dict[float, float]:
    """Hand product-limit: (n at risk, churned) at each churn time."""
    s, out = 1.0, {0.0: 1.0}
    for t, n, d in [(1, 10, 1), (2, 9, 1), (3, 7, 1), (6, 5, 1), (7, 4, 1), (12, 2, 1)]:
        s *= 1 - d / n
        out[float(t)] = s
    return out


def simulate_exponential(n: int = 5000, seed: int = 11) -> tuple[pd.DataFrame, dict[str, float]]:
    """Exponential lifetimes, baseline 0.03/month, known log hazard ratios; uniform censoring over 0-48 months."""
    rng = np.random.default_rng(seed)
    truth = {"tickets": np.log(1.25), "plan=plus": np.log(0.7), "plan=pro": np.log(1.4)}
    tickets = rng.poisson(1.5, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    lp = truth["tickets"] * tickets + np.select(
        [plan == "plus", plan == "pro"], [truth["plan=plus"], truth["plan=pro"]], 0.0
    )
    lifetime = rng.exponential(1 / (0.03 * np.exp(lp)))
    censor = rng.uniform(0, 48, n)
    df = pd.DataFrame(
        {
            "duration_months": np.minimum(lifetime, censor),
            "event": lifetime <= censor,
            "tickets": tickets,
            "plan": plan,
            "nps_last": np.where(rng.random(n) < 0.8, np.nan, rng.integers(0, 11, n)),
        }
    )
    return df, truth


def test_km_survival_matches_hand_product_limit(tiny):
    km = kaplan_meier(tiny, min_group_size=1)
    expected = tiny_survival()
    curve = km.survival.set_index("time")["survival"]
    for t, s in expected.items():
        assert curve.loc[t] == pytest.approx(s)
    assert (km.survival["ci_low"] <= km.survival["survival"] + 1e-12).all()
    assert (km.survival["ci_high"] >= km.survival["survival"] - 1e-12).all()


def test_km_at_risk_table_matches_hand_count(tiny):
    table = kaplan_meier(tiny, min_group_size=1, at_risk_step=6).at_risk
    assert table["time"].tolist() == [0, 6, 12, 18]
    assert table["at_risk"].tolist() == [10, 5, 2, 0]
    assert table["events"].tolist() == [0, 4, 6, 6]
    assert table["censored"].tolist() == [0, 2, 3, 4]


def test_km_median_matches_hand_computation(tiny):
    med = kaplan_meier(tiny, min_group_size=1).medians.iloc[0]
    # S(6) = 0.549 > 0.5 and S(7) = 0.411 <= 0.5: the median is 7 months
    assert med["median"] == 7.0
    assert med["reached"]
    assert med["n"] == 10 and med["events"] == 6
    assert med["ci_low"] <= 7.0


def test_km_median_not_reached_is_nan():
    df = pd.DataFrame({"duration_months": np.arange(1, 41), "event": np.arange(40) % 10 == 0})
    med = kaplan_meier(df).medians.iloc[0]
    assert not med["reached"] and np.isnan(med["median"])
    estimate = kaplan_meier(df).to_estimates()["median_lifetime_all"]
    assert "not reached" in estimate.note


def test_survival_at_and_beyond_follow_up(tiny):
    at = kaplan_meier(tiny, min_group_size=1).survival_at([6, 12, 36]).set_index("months")
    assert at.loc[6, "survival"] == pytest.approx(tiny_survival()[6.0])
    assert at.loc[12, "survival"] == pytest.approx(tiny_survival()[12.0])
    assert np.isnan(at.loc[36, "survival"])  # beyond the last follow-up (14 months): not identified


def test_small_groups_dropped_with_note():
    df, _ = simulate_exponential(n=400)
    df.loc[df.index[:10], "plan"] = "legacy"
    km = kaplan_meier(df, group="plan")
    assert "legacy" not in km.groups
    assert any("legacy (n=10)" in note for note in km.notes)
    assert set(km.summary().index) == set(km.groups)


def test_rmst_equals_area_under_hand_step_curve(tiny):
    s = tiny_survival()
    # S is flat between churn times: 1 on [0,1), .9 on [1,2), .8 on [2,3), S(3) on [3,6), S(6) on [6,7), S(7) on [7,10)
    area = 1 + s[1.0] + s[2.0] + 3 * s[3.0] + s[6.0] + 3 * s[7.0]
    out = rmst(tiny, horizon_months=10, min_group_size=1)
    assert out["rmst"].iloc[0] == pytest.approx(area)
    assert out["ci_low"].iloc[0] < area < out["ci_high"].iloc[0]


def test_rmst_se_reduces_to_binomial_without_censoring():
    t = np.random.default_rng(3).exponential(10, 500)
    out = rmst(pd.DataFrame({"duration_months": t, "event": True}), horizon_months=15)
    # without censoring KM is the empirical distribution, so Var(RMST) = Var(min(T, tau)) / n exactly
    assert out["se"].iloc[0] ** 2 == pytest.approx(np.var(np.minimum(t, 15)) / 500, rel=1e-9)


def test_rmst_beyond_follow_up_is_nan_with_note(tiny):
    out = rmst(kaplan_meier(tiny, min_group_size=1), horizon_months=24)
    assert np.isnan(out["rmst"].iloc[0])
    assert out.attrs["notes"]


def test_logrank_detects_difference_and_not_noise():
    df, _ = simulate_exponential(n=3000)
    res = logrank(df, "plan")
    assert res.dof == 2 and res.p_value < 1e-6
    df["coin"] = np.random.default_rng(5).choice(["heads", "tails"], len(df))
    assert logrank(df, "coin").p_value > 0.01
    assert logrank(df, "coin").summary().loc["coin", "dof"] == 1


def test_cox_recovers_known_hazard_ratios():
    df, truth = simulate_exponential()
    cox = fit_cox(df, ["tickets"], categorical=["plan"])
    assert cox.reference_levels == {"plan": "basic"}
    assert set(cox.terms) == set(truth)
    for term, log_hr in truth.items():
        est = cox.hazard_ratio(term)
        assert est.ci_low < np.exp(log_hr) < est.ci_high, term
        assert est.unit == "ratio"
    assert 0.55 < cox.concordance < 0.75
    assert cox.n == 5000 and cox.penalizer == 0.0 and not cox.notes


def test_cox_data_hygiene_notes():
    df, _ = simulate_exponential(n=500)
    df["constant"] = 1.0
    df.loc[df.index[:7], "tickets"] = np.nan
    cox = fit_cox(df, ["tickets", "nps_last", "constant"], categorical=["plan"])
    notes = " ".join(cox.notes)
    assert "nps_last" in notes and "50%" in notes
    assert "dropped 7 of 500" in notes
    assert "constant" in notes
    assert cox.n == 493 and set(cox.terms) == {"tickets", "plan=plus", "plan=pro"}


def test_cox_separation_refits_with_penalizer():
    df, _ = simulate_exponential(n=300)
    df["leaks_outcome"] = df["event"].astype(float)
    cox = fit_cox(df, ["tickets", "leaks_outcome"])
    assert cox.penalizer == 0.1
    assert any("penalizer 0.1" in note for note in cox.notes)
    assert np.isfinite(cox.summary().to_numpy()).all()


def test_cox_ph_test_runs():
    df, _ = simulate_exponential(n=1000)
    ph = fit_cox(df, ["tickets"], categorical=["plan"]).ph_test()
    assert set(ph.index) == {"tickets", "plan=plus", "plan=pro"}
    assert ph["p_value"].between(0, 1).all()


def test_kaplan_meier_agrees_with_lifelines_by_group():
    df, _ = simulate_exponential(n=1000)
    km = kaplan_meier(df, group="plan")
    sub = df[df["plan"] == "pro"]
    ref = KaplanMeierFitter().fit(sub["duration_months"], sub["event"])
    assert km.medians.set_index("group").loc["pro", "median"] == pytest.approx(ref.median_survival_time_)
