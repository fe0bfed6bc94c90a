"""Tests for BG/NBD tracking, holdout conditional expectations and BG/NBD x Gamma-Gamma CLV.

Published CDNOW facts (Fader, Hardie & Lee 2005), independent computations (numerical integration, simulation of
the BG/NBD story) and hand-computable limits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from cxresearch.data.transactions import calibration_split, cohort_transactions, read_cdnow, rfm_summary
from cxresearch.economics.bgnbd import (
    BGNBDResult,
    expected_cumulative_repeat,
    fit_bgnbd,
    holdout_by_frequency,
    track_repeat_purchases,
)
from cxresearch.economics.btyd_clv import (
    BTYDCLVResult,
    btyd_clv,
    discounted_expected_transactions,
)
from cxresearch.economics.gamma_gamma import GammaGammaResult, fit_gamma_gamma
from cxresearch.errors import NotEstimableError
from cxresearch.stats.units import DAYS_PER_MONTH

CDNOW = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cdnow" / "CDNOW_sample.txt"
needs_cdnow = pytest.mark.skipif(not CDNOW.is_file(), reason=f"CDNOW 1/10th sample not found at {CDNOW}")
#: The published CDNOW estimates (Fader, Hardie & Lee 2005, section 4; Fader & Hardie 2013, Gamma-Gamma note).
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def cdnow():
    log = read_cdnow(CDNOW)
    rfm = rfm_summary(log, "1997-09-30", "1998-06-30")
    return log, rfm, fit_bgnbd(rfm["frequency"], rfm["recency"], rfm["T"])


def test_expected_purchases_matches_numerical_integration():
    # eq. 9 against its definition: E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p, averaged over
    # lambda ~ Gamma(r, alpha) (closed form (alpha / (alpha + p t))^r) and p ~ Beta(a, b) by quadrature
    fit = BGNBDResult(PUBLISHED_BGNBD, np.eye(4), float("nan"), 0)
    r, alpha, a, b = PUBLISHED_BGNBD.values()
    for t in (1.0, 39.0, 78.0):
        value, _ = integrate.quad(lambda p: (1 - (alpha / (alpha + p * t)) ** r) / p * stats.beta.pdf(p, a, b),
                                  0, 1, limit=200)
        assert fit.expected_purchases(t) == pytest.approx(value, rel=1e-6)


def test_expected_cumulative_repeat_sums_customers_by_age():
    fit = BGNBDResult(PUBLISHED_BGNBD, np.eye(4), float("nan"), 0)
    T = np.array([10.0, 10.0, 4.0])
    out = expected_cumulative_repeat(fit, T, np.array([-6.0, 0.0, 5.0]))
    # at offset -6 only the two older customers (age 4) exist; the young one is born at offset -4
    assert out[0] == pytest.approx(2 * fit.expected_purchases(4.0))
    assert out[1] == pytest.approx(2 * fit.expected_purchases(10.0) + fit.expected_purchases(4.0))
    assert out[2] == pytest.approx(2 * fit.expected_purchases(15.0) + fit.expected_purchases(9.0))


@needs_cdnow
def test_tracking_on_cdnow_reproduces_the_published_totals(cdnow):
    log, rfm, fit = cdnow
    track = track_repeat_purchases(fit, rfm, log, "1998-06-30")
    weeks = track.periods
    # 78 weeks from 1997-01-01, calibration ends after week 39 (Fader, Hardie & Lee 2005, Figs. 3-4)
    assert len(weeks) == 78 and track.calibration_periods == pytest.approx(39.0)
    assert weeks["holdout"].sum() == 39
    totals = track.totals()
    # actual repeat purchases: 2,457 in the calibration weeks (the sum of the published x's), 1,882 in the holdout
    assert totals.loc["calibration", "actual"] == 2457 and totals.loc["holdout", "actual"] == 1882
    assert weeks["actual_cumulative"].iloc[-1] == 2457 + 1882
    # the fitted model reproduces the calibration total (a property of the ML fit: within 2%) and, as in the
    # paper's Figure 3, runs below the actual holdout curve: 1,667 expected vs 1,882 (-11%)
    assert totals.loc["calibration", "error_pct"] == pytest.approx(1.5, abs=0.5)
    assert totals.loc["holdout", "expected"] == pytest.approx(1667, abs=5)
    # the paper's aggregate method (unconditional E[X(t)] by first-purchase day) and the sum of the customers'
    # conditional expectations (eq. 10) are two routes to the same holdout total: they agree within 1%
    conditional = fit.conditional_expected_purchases(39.0, rfm["frequency"], rfm["recency"], rfm["T"]).sum()
    assert totals.loc["holdout", "expected"] == pytest.approx(conditional, rel=0.01)
    assert np.all(np.diff(weeks["expected_cumulative"]) >= 0)


@needs_cdnow
def test_holdout_by_frequency_on_cdnow(cdnow):
    _, rfm, fit = cdnow
    holdout = holdout_by_frequency(fit, rfm, max_frequency=7)
    table = holdout.summary()
    assert holdout.max_frequency == 7
    assert list(table.index) == list(range(8)) and table["n"].sum() == 2357
    assert table.loc[0, "n"] == 2357 - 946  # 946 repeat buyers in the calibration period
    # the actual means by hand: holdout purchases of customers with x = 0
    zero = rfm["frequency"] == 0
    assert table.loc[0, "actual"] == pytest.approx(rfm.loc[zero, "holdout_frequency"].mean())
    # Figure 5 of the paper: forecasts rise with calibration frequency and track the actual means; the model
    # under-predicts the light repeat buyers most (x = 1, 2: by about a quarter), within 15% elsewhere
    assert np.all(np.diff(table["expected"]) > 0)
    ratio = table["expected"] / table["actual"]
    assert ratio.drop([1, 2]).between(0.85, 1.05).all()
    assert ratio.loc[[1, 2]].between(0.7, 0.8).all()


def simulate_future(n: int, params: dict[str, float], horizon: float, seed: int) -> pd.DataFrame:
    """BG/NBD customers observed for T ~ U(10, 50) after their first purchase, then followed `horizon` more.

    Returns frequency, recency, T and the purchase times after T (relative to T) as a list per customer.
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    T = rng.uniform(10, 50, n)
    rows = []
    for i in range(n):
        t, x, tx, future = 0.0, 0, 0.0, []
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i] + horizon:
                break
            if t <= T[i]:
                x, tx = x + 1, t
            else:
                future.append(t - T[i])
            if rng.random() < p[i]:
                break
        rows.append((x, tx, T[i], future))
    return pd.DataFrame(rows, columns=["frequency", "recency", "T", "future"])


def test_discounted_transactions_match_simulated_futures():
    # the law of total expectation: averaged over customers (or over a history-defined group), the conditional
    # forecast equals the mean realised future, discounted by month
    params = {"r": 0.6, "alpha": 4.0, "a": 0.8, "b": 2.5}
    fit = BGNBDResult(params, np.eye(4), float("nan"), 0)
    months, rate, units = 12, 0.02, DAYS_PER_MONTH / 7
    sim = simulate_future(12000, params, months * units, seed=3)
    month_of = [np.ceil(np.array(f) / units) for f in sim["future"]]
    realised = np.array([np.sum((1 + rate) ** -m) for m in month_of])
    counts = np.array([len(m) for m in month_of])
    expected, discounted = discounted_expected_transactions(fit, sim["frequency"], sim["recency"], sim["T"],
                                                            rate, months, units)
    for group in (np.ones(len(sim), bool), sim["frequency"].to_numpy() == 0, sim["frequency"].to_numpy() >= 3):
        se = realised[group].std() / np.sqrt(group.sum())
        assert abs(discounted[group].mean() - realised[group].mean()) < 3.5 * se
        se_n = counts[group].std() / np.sqrt(group.sum())
        assert abs(expected[group].mean() - counts[group].mean()) < 3.5 * se_n


def test_discounted_transactions_hand_limits():
    fit = BGNBDResult(PUBLISHED_BGNBD, np.eye(4), float("nan"), 0)
    x, tx, T = np.array([0.0, 2.0, 5.0]), np.array([0.0, 30.0, 10.0]), np.array([0.0, 38.0, 38.0])
    units = DAYS_PER_MONTH / 7
    # no discounting: the discounted sum is the expected count over the horizon (eq. 10 at H months)
    expected, discounted = discounted_expected_transactions(fit, x, tx, T, 0.0, 24, units)
    assert discounted == pytest.approx(expected)
    assert expected == pytest.approx(fit.conditional_expected_purchases(24 * units, x, tx, T))
    # a customer seen only at her first purchase (x = 0, T = 0) expects E[X(t)] (eq. 9)
    assert expected[0] == pytest.approx(fit.expected_purchases(24 * units))
    # one month: E[Y(u)] / (1 + d)
    expected, discounted = discounted_expected_transactions(fit, x, tx, T, 0.05, 1, units)
    assert discounted == pytest.approx(expected / 1.05)
    # discounting can only lower the value, and a longer horizon only raise it
    _, d12 = discounted_expected_transactions(fit, x, tx, T, 0.01, 12, units)
    _, d24 = discounted_expected_transactions(fit, x, tx, T, 0.01, 24, units)
    _, d24_steep = discounted_expected_transactions(fit, x, tx, T, 0.03, 24, units)
    assert np.all(d12 < d24) and np.all(d24_steep < d24)


def test_btyd_clv_by_hand():
    bg = BGNBDResult(PUBLISHED_BGNBD, np.diag([1e-4] * 4), float("nan"), 3)
    gg = GammaGammaResult(PUBLISHED_GG, np.diag([1e-4] * 3), float("nan"), 3, 0.0)
    rfm = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0.0, 30.0, 10.0], "T": [38.0, 38.0, 38.0],
                        "monetary_value": [np.nan, 40.0, 20.0]}, index=["a", "b", "c"])
    rfm.attrs["time_unit_days"] = 7.0
    res = btyd_clv(bg, gg, rfm, margin=0.3, monthly_discount_rate=0.01, horizon_months=36, n_draws=50)
    c = res.customers
    _, disc = discounted_expected_transactions(bg, rfm["frequency"], rfm["recency"], rfm["T"], 0.01, 36,
                                               DAYS_PER_MONTH / 7)
    spend = gg.conditional_expected_spend(rfm["frequency"], rfm["monetary_value"])
    assert c["clv"].to_numpy() == pytest.approx(0.3 * spend * disc)
    assert c.loc["a", "expected_spend"] == pytest.approx(6.25 * 15.44 / 2.74)  # population mean p gamma / (q - 1)
    assert res.mean.value == pytest.approx(c["clv"].mean())
    assert res.mean.ci_low < res.mean.value < res.mean.ci_high
    assert res.top_decile_share == pytest.approx(100 * c["clv"].max() / c["clv"].sum())  # top 10% of 3 = 1
    assert set(res.to_estimates()) >= {"btyd_clv_per_customer", "btyd_clv_total", "btyd_clv_top_decile_share"}
    with pytest.raises(ValueError, match="margin"):
        btyd_clv(bg, gg, rfm, margin=30, monthly_discount_rate=0.01, horizon_months=36)


@needs_cdnow
def test_btyd_clv_on_cdnow(cdnow):
    _, rfm, fit = cdnow
    spend = fit_gamma_gamma(rfm["frequency"], rfm["monetary_value"])
    res = btyd_clv(fit, spend, rfm, margin=0.3, monthly_discount_rate=0.01, horizon_months=60, n_draws=40)
    c = res.customers
    # heavy, recent buyers are worth most; value concentrates (the top 10% hold about half of it)
    heavy = rfm["frequency"] >= 7
    assert c.loc[heavy, "clv"].mean() > 5 * c.loc[rfm["frequency"] == 0, "clv"].mean()
    assert 40 < res.top_decile_share < 70
    assert res.mean.ci_low < res.mean.value < res.mean.ci_high
    # discounting at 1%/month over 5 years keeps roughly 75-80% of the purchases; CLV is linear in the margin
    assert 0.7 < c["discounted_transactions"].sum() / c["expected_transactions"].sum() < 0.85
    half = btyd_clv(fit, spend, rfm, margin=0.15, monthly_discount_rate=0.01, horizon_months=60, n_draws=0)
    assert half.customers["clv"].to_numpy() == pytest.approx(0.5 * c["clv"].to_numpy())
    assert half.mean.ci_low is None  # no draws, no interval


def test_cohort_transactions_reads_adapter_tables():
    class Data:
        transactions = pd.DataFrame({"customer_id": ["1", "1"], "timestamp": pd.to_datetime(["1997-01-01",
                                     "1997-02-01"]), "amount": [10.0, 5.0], "quantity": [1, 1]})

    out = cohort_transactions(Data())
    assert list(out.columns) == ["customer_id", "date", "spend"] and out["spend"].sum() == 15.0
    Data.transactions = None
    assert cohort_transactions(Data()) is None


def test_gamma_gamma_leaves_out_repeat_buyers_without_spend():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 400).astype(float)
    m = rng.gamma(5.0, 8.0, 400)
    m[:5] = 0.0  # free purchases (as in the CDNOW master file)
    fit = fit_gamma_gamma(x, m)
    assert fit.n == 395
    assert any("without positive spend" in note for note in fit.notes)


def purchase_log(first: str, last: str) -> pd.DataFrame:
    """Two customers buying on the first and last day of a log (enough for `calibration_split`)."""
    dates = pd.to_datetime([first, last, first, last])
    return pd.DataFrame({"customer_id": ["1", "1", "2", "2"], "date": dates, "spend": 10.0})


def test_calibration_split_keeps_dates_inside_the_log():
    split = calibration_split(purchase_log("1997-01-01", "1998-06-30"), "1997-09-30", "1998-06-30")
    assert split.calibration_end == pd.Timestamp("1997-09-30") and split.holdout_end == pd.Timestamp("1998-06-30")
    assert split.note == ""
    no_holdout = calibration_split(purchase_log("1997-01-01", "1998-06-30"), "1997-09-30", "")
    assert no_holdout.holdout_end is None and no_holdout.note == ""


def test_calibration_split_derives_halves_of_a_log_the_dates_miss():
    # 2020-01-01 to 2020-12-31 is 365 days: calibration ends 182 days in (2020-07-01), the holdout at the end
    split = calibration_split(purchase_log("2020-01-01", "2020-12-31"), "1997-09-30", "1998-06-30")
    assert split.calibration_end == pd.Timestamp("2020-07-01")
    assert split.holdout_end == pd.Timestamp("2020-12-31")
    assert "1997-09-30" in split.note and "2020-07-01" in split.note and "2020-12-31" in split.note
    # the CDNOW log itself (545 days) halves at the standard 1997-09-30
    assert calibration_split(purchase_log("1997-01-01", "1998-06-30"), "", "1999-01-01").calibration_end == \
        pd.Timestamp("1997-09-30")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        calibration_split(purchase_log("1997-01-01", "1998-06-30"), "30.09.1997", "")


def test_calibration_split_short_logs():
    # 10 weeks: enough to calibrate on, too short to leave an 8-week holdout as well
    short = calibration_split(purchase_log("2024-01-01", "2024-03-11"), "1997-09-30", "1998-06-30")
    assert short.calibration_end == pd.Timestamp("2024-03-11") and short.holdout_end is None
    assert "too short" in short.note
    with pytest.raises(NotEstimableError, match="spans 30 days") as err:
        calibration_split(purchase_log("2024-01-01", "2024-01-31"), "1997-09-30", "1998-06-30")
    assert err.value.needs == "more history"


@needs_cdnow
def test_tracking_finding_and_holdout_error(cdnow):
    log, rfm, fit = cdnow
    track = track_repeat_purchases(fit, rfm, log, "1998-06-30")
    error = track.holdout_error()
    assert error.value == pytest.approx(100 * (1667 - 1882) / 1882, abs=0.3)  # -11.4%: Fig. 3 of the paper
    assert track.finding() == ("BG/NBD forecast 1,667 repeat purchases in the holdout to 1998-06-30; 1,882 "
                               "happened (-11.4%).")
    # a holdout without purchases has no relative error: said in words, never nan
    track.periods.loc[track.periods["holdout"], "actual"] = 0
    assert not track.holdout_error().estimable
    assert track.finding().endswith("0 happened.") and "nan" not in track.finding()


def test_btyd_finding_without_value_has_no_share():
    customers = pd.DataFrame({"p_alive": [0.0, 0.0], "expected_transactions": [0.0, 0.0],
                              "discounted_transactions": [0.0, 0.0], "expected_spend": [10.0, 10.0],
                              "clv": [0.0, 0.0]})
    result = BTYDCLVResult(customers, np.zeros(0), 0.3, 0.01, 12, "USD")
    assert result.finding() == "A purchasing customer is worth 0.00 USD in margin over the next 12 months."
    assert not result.to_estimates()["btyd_clv_top_decile_share"].estimable
