"""Tests for cxresearch.survival.parametric: the right shape wins by AIC, survival and extrapolated RMST cover the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from cxresearch.errors import NotEstimableError
from cxresearch.survival.columns import FROM_ENTRY
from cxresearch.survival.parametric import fit_aft


def weibull_world(n: int = 3000, seed: int = 1, truncate: bool = False) -> pd.DataFrame:
    """Weibull lifetimes (shape 1.6; scale 20 months, 40 for group b), censored uniformly over 0-30 months;
    with `truncate`, half enter late (delayed entry up to 12 months) and are kept only if they survived to it."""
    rng = np.random.default_rng(seed)
    grp = rng.choice(["a", "b"], n)
    life = np.where(grp == "b", 40.0, 20.0) * rng.weibull(1.6, n)
    entry = np.where(rng.random(n) < 0.5, rng.uniform(0, 12, n), 0.0) if truncate else np.zeros(n)
    censor = entry + rng.uniform(0, 30, n)
    keep = life > entry
    df = pd.DataFrame({"duration_months": np.minimum(life, censor), "event": life <= censor, "grp": grp,
                       "entry_months": entry})
    return df[keep].reset_index(drop=True)


def weibull_sf(t, scale):
    return np.exp(-((t / scale) ** 1.6))


def test_weibull_wins_by_aic_and_recovers_survival():
    aft = fit_aft(weibull_world(), group="grp")
    assert aft.best == "weibull"
    assert aft.summary().loc["weibull", "delta_aic"] == 0 and aft.summary()["delta_aic"].max() > 10
    # two horizons per group (four 95% intervals): more would make a chance miss likely (1 - 0.95^k)
    at = aft.survival([12, 24], seed=0).set_index(["group", "time"])
    for g, scale in (("a", 20.0), ("b", 40.0)):
        for t in (12, 24):
            row = at.loc[(g, float(t))]
            assert row["ci_low"] < weibull_sf(t, scale) < row["ci_high"]


def test_extrapolated_rmst_beyond_follow_up_covers_true_area():
    aft = fit_aft(weibull_world(n=4000, seed=2), group="grp")
    out = aft.extrapolate(60, n_draws=300).set_index("group")
    assert out["beyond_follow_up"].all()
    for g, scale in (("a", 20.0), ("b", 40.0)):
        true_area = integrate.quad(weibull_sf, 0, 60, args=(scale,))[0]
        assert out.loc[g, "rmst_ci_low"] < true_area < out.loc[g, "rmst_ci_high"]
        assert out.loc[g, "survival_ci_low"] < weibull_sf(60, scale) < out.loc[g, "survival_ci_high"]
    est = aft.to_estimates(60)["aft_rmst60_b"]
    assert est.unit == "months" and "extrapolated" in est.note


def test_lognormal_wins_on_lognormal_data():
    rng = np.random.default_rng(4)
    life = np.exp(rng.normal(2.8, 0.9, 3000))
    censor = rng.uniform(0, 40, 3000)
    aft = fit_aft(pd.DataFrame({"duration_months": np.minimum(life, censor), "event": life <= censor}))
    assert aft.best == "lognormal" and aft.groups == ["all"]
    s12 = aft.survival([12.0]).iloc[0]
    assert s12["ci_low"] < stats.norm.sf((np.log(12) - 2.8) / 0.9) < s12["ci_high"]


def test_left_truncation_is_respected():
    df = weibull_world(n=5000, seed=3, truncate=True)
    with_entry = fit_aft(df, group="grp", columns=FROM_ENTRY, distributions=["weibull"])
    naive = fit_aft(df, group="grp", distributions=["weibull"])
    truth = weibull_sf(12, 20.0)
    row = with_entry.survival([12.0]).set_index("group").loc["a"]
    assert row["ci_low"] < truth < row["ci_high"]
    # ignoring delayed entry counts the survived time before entry as risk-free: survival overstated
    assert naive.survival([12.0]).set_index("group").loc["a", "ci_low"] > truth


def test_unknown_distribution_rejected():
    with pytest.raises(ValueError, match="unknown distributions"):
        fit_aft(weibull_world(n=200), distributions=["gompertz"])


def test_aft_refuses_too_few_events_and_identical_lifetimes():
    rng = np.random.default_rng(0)
    quiet = pd.DataFrame({"duration_months": rng.uniform(1, 30, 500), "event": np.arange(500) < 9})
    with pytest.raises(NotEstimableError, match="9 churn events") as err:
        fit_aft(quiet)
    assert err.value.needs == "churners"
    # everyone churns at exactly 12 months: no spread, no shape; every distribution fails and says so
    same = pd.DataFrame({"duration_months": np.full(500, 12.0), "event": True})
    with pytest.raises(NotEstimableError, match="weibull: the fit did not converge"):
        fit_aft(same)


def test_aft_refuses_a_group_without_churn():
    # group b never churns within 30 months: its scale runs off, so no distribution gives a usable curve
    df = weibull_world(2000, seed=4, truncate=False)
    df.loc[df["grp"] == "b", "event"] = False
    with pytest.raises(NotEstimableError, match=r"scale \(group=b\) is barely informed"):
        fit_aft(df, group="grp")
