"""Tests for the survival tail beyond the observed horizon: the backtest by hand, the choice where the truth is
known (Weibull and exponential lifetimes), and the fast refit against lifelines."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cxresearch.economics import clv_from_survival, residual_clv
from cxresearch.economics.clv_tail import choose_tail
from cxresearch.economics.survival_curve import SurvivalCases
from cxresearch.economics.tail_models import fit_tail, log_likelihood, theta_from_lifelines
from cxresearch.economics.valuation import Valuation
from cxresearch.survival.columns import FROM_ENTRY
from cxresearch.survival.parametric import fit_aft


def weibull_customers(n: int = 10_000, shape: float = 0.5, scale: float = 20.0, censor_max: float = 24.0,
                      seed: int = 3) -> pd.DataFrame:
    """Weibull lifetimes (months) with a falling hazard (shape < 1), uniform censoring, margin 20 a month."""
    rng = np.random.default_rng(seed)
    lifetime = scale * rng.weibull(shape, n)
    censor = rng.uniform(0, censor_max, n)
    return pd.DataFrame({"duration_months": np.minimum(lifetime, censor), "event": lifetime <= censor,
                         "monthly_margin": 20.0})


def weibull_clv(shape: float, scale: float, margin: float, d: float, horizon: int) -> float:
    """Closed form: m * sum_{t=1..H} exp(-(t / scale)^shape) / (1 + d)^t."""
    t = np.arange(1, horizon + 1)
    return float(margin * np.sum(np.exp(-((t / scale) ** shape)) / (1 + d) ** t))


def test_backtest_error_by_hand() -> None:
    # 20 churn at month 10, 40 at month 25, 40 are censored at 30: T_c = 30, the backtest cuts at 20.
    df = pd.DataFrame({"duration_months": [10.0] * 20 + [25.0] * 40 + [30.0] * 40,
                       "event": [True] * 60 + [False] * 40})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        choice = choose_tail(df, "constant")
    row = choice.table.set_index("candidate").loc["constant"]
    assert choice.t_c == 30.0 and choice.t_cut == 20.0
    # observed: everyone active at 20 stays to 25, half of them to 30: 5 + 0.5 x 5 = 7.5 months
    assert row["rmst_observed"] == pytest.approx(7.5)
    # cut at 20, the window (8, 20] has 20 churns in 20 x 2 + 80 x 12 = 1000 customer-months: 0.02 a month
    predicted = (1 - np.exp(-0.02 * 10)) / 0.02
    assert row["rmst_predicted"] == pytest.approx(predicted, abs=1e-4)
    assert row["error_months"] == pytest.approx(predicted - 7.5, abs=1e-4)
    assert row["error_pct"] == pytest.approx(100 * (predicted - 7.5) / 7.5, abs=1e-3)
    # the largest gap: at 25 the curve drops to 0.5 while the constant hazard predicts exp(-0.1)
    assert row["max_abs_error"] == pytest.approx(np.exp(-0.1) - 0.5, abs=1e-3)
    assert choice.family == "constant" and "(as requested)" in choice.reason


def test_falling_hazard_picks_a_falling_tail_and_recovers_the_true_clv() -> None:
    df = weibull_customers()
    auto = clv_from_survival(df, Valuation(monthly_discount_rate=0.005, horizon_months=120, n_boot=100))
    constant = clv_from_survival(df, Valuation(monthly_discount_rate=0.005, horizon_months=120, n_boot=100, tail="constant"))
    truth = weibull_clv(0.5, 20.0, 20.0, 0.005, 120)
    table = auto.tail.table.set_index("candidate")
    # the constant hazard of the last year underestimates how long the survivors stay, in the backtest and the CLV
    assert table.loc["constant", "error_months"] < 0
    assert auto.tail.family in ("weibull", "loglogistic", "lognormal")
    assert abs(table.loc[auto.tail.family, "error_months"]) < abs(table.loc["constant", "error_months"])
    assert constant.table["ci_high"].iloc[0] < truth
    row = auto.table.iloc[0]
    assert row["ci_low"] < truth < row["ci_high"]
    assert f"with a {auto.table['tail'].iloc[0]} tail" in auto.tail.reason


def test_constant_hazard_world_keeps_the_clv_within_its_ci() -> None:
    rng = np.random.default_rng(11)
    lifetime, censor = rng.exponential(1 / 0.03, 6000), rng.uniform(0, 36, 6000)
    df = pd.DataFrame({"duration_months": np.minimum(lifetime, censor), "event": lifetime <= censor,
                       "monthly_margin": 20.0})
    res = clv_from_survival(df, Valuation(monthly_discount_rate=0.01, horizon_months=60, n_boot=100))
    t = np.arange(1, 61)
    truth = float(20.0 * np.sum(np.exp(-0.03 * t) / 1.01**t))
    row = res.table.iloc[0]
    assert row["ci_low"] < truth < row["ci_high"]
    assert row["clv"] == pytest.approx(truth, rel=0.03)


def test_too_short_a_history_keeps_the_constant_hazard_and_says_why() -> None:
    df = weibull_customers(n=2000, censor_max=14.0)
    choice = choose_tail(df)
    assert choice.family == "constant" and choice.t_cut is None
    assert "too little history" in choice.reason
    assert choice.table["error_months"].isna().all() and choice.table["aic"].notna().all()


@pytest.mark.parametrize("family", ["weibull", "lognormal", "loglogistic"])
def test_fast_refit_is_the_lifelines_fit(family: str) -> None:
    df = weibull_customers(n=3000)
    rng = np.random.default_rng(5)
    df["entry_months"] = np.where(rng.random(len(df)) < 0.3, df["duration_months"] * rng.uniform(0, 0.9, len(df)), 0)
    fitter = fit_aft(df, columns=FROM_ENTRY, distributions=[family]).fitters[family]
    counts = SurvivalCases(df["duration_months"], df["event"], df["entry_months"]).tail_counts(np.ones(len(df)))
    lifelines_theta = theta_from_lifelines(family, fitter)
    assert log_likelihood(family, lifelines_theta, counts) == pytest.approx(fitter.log_likelihood_, rel=1e-9)
    np.testing.assert_allclose(fit_tail(family, counts), lifelines_theta, atol=2e-3)


def test_residual_value_uses_the_chosen_tail() -> None:
    df = weibull_customers()
    choice = choose_tail(df)
    res = residual_clv(df, Valuation(monthly_discount_rate=0.005, horizon_months=120, n_boot=20, tail=choice))
    constant = residual_clv(df, Valuation(monthly_discount_rate=0.005, horizon_months=120, n_boot=20, tail="constant"))
    assert choice.family != "constant" and "constant" not in res.mean.note
    # long-standing customers' futures lie beyond T_c: a falling hazard keeps them longer
    assert res.mean.value > constant.mean.value
