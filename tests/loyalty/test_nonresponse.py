"""Tests for cxresearch.loyalty.nonresponse: hand-computed response rates and churn gaps, IPW against known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from cxresearch.data.schema import CXData
from cxresearch.data.simulate import _simulate
from cxresearch.features.snapshot import snapshot
from cxresearch.loyalty.metrics import nps
from cxresearch.loyalty.nonresponse import (
    ipw_nps,
    ipw_scores,
    ipw_transactional,
    nps_population,
    responder_churn,
    survey_population,
    transactional_response,
)
from cxresearch.stats.intervals import wilson_pct


def test_transactional_response_by_channel() -> None:
    t = pd.Timestamp("2024-01-10")
    contacts = pd.DataFrame({
        "contact_id": ["k1", "k2", "k3", "k4", "k5"], "customer_id": "c1", "timestamp": t,
        "channel": ["phone", "phone", "chat", "chat", "email"],
        "direction": ["reactive", "reactive", "reactive", "reactive", "proactive"],
    })
    surveys = pd.DataFrame({"customer_id": "c1", "timestamp": t, "instrument": ["ces", "csat", "ces"],
                            "score": [3, 4, 2], "contact_id": ["k1", "k1", "k3"]})
    data = CXData(pd.DataFrame(), contacts, surveys, t)
    table = transactional_response(data)
    assert list(table["contacts"]) == [1 + 1, 2, 4] and list(table["responded"]) == [1, 1, 2]  # chat, phone, all
    assert table.loc["all", "response_pct"] == pytest.approx(50.0)
    assert (table.loc["all", "ci_low"], table.loc["all", "ci_high"]) == pytest.approx(wilson_pct(2, 4))
    with pytest.raises(ValueError, match="contact_id"):
        transactional_response(CXData(pd.DataFrame(), contacts, surveys.drop(columns="contact_id"), t))


def test_responder_churn_newcombe_by_hand() -> None:
    population = pd.DataFrame({"responded": [True] * 10 + [False] * 20,
                               "churned": [True] * 1 + [False] * 9 + [True] * 6 + [False] * 14})
    result = responder_churn(population)
    assert (result.responders.value, result.nonresponders.value) == pytest.approx((10.0, 30.0))
    (l1, u1), (l0, u0) = wilson_pct(1, 10), wilson_pct(6, 20)
    assert result.difference.value == pytest.approx(20.0)
    assert result.difference.ci_low == pytest.approx(20 - np.sqrt((30 - l0) ** 2 + (u1 - 10) ** 2))
    assert result.difference.ci_high == pytest.approx(20 + np.sqrt((u0 - 30) ** 2 + (10 - l1) ** 2))
    with pytest.raises(ValueError, match="both"):
        responder_churn(population[population["responded"]])


def test_ipw_recovers_nps_when_response_depends_on_observed_traits() -> None:
    """Missing at random given churn and contacts: IPW must remove the bias, the raw NPS must keep it."""
    rng = np.random.default_rng(2)
    n = 40_000
    churned = rng.random(n) < 0.2
    unresolved = rng.poisson(0.5, n)
    latent = 8.0 - 3.0 * churned - 1.0 * unresolved + rng.normal(0, 1.5, n)
    score = np.clip(np.round(latent), 0, 10)
    responded = rng.random(n) < special.expit(0.5 - 1.5 * churned - 0.6 * unresolved)
    population = pd.DataFrame({"churned": churned, "unresolved_90d": unresolved, "responded": responded,
                               "score": np.where(responded, score, np.nan)})
    truth = nps(score).score
    result = ipw_nps(population)
    assert result.raw.score - truth > 8  # responders are the happier customers
    assert result.corrected.ci_low < truth < result.corrected.ci_high
    assert abs(result.corrected.value - truth) < 2.0
    assert result.covariates == ("unresolved_90d", "churned")
    assert result.corrected.n == n and result.raw.n == int(responded.sum())
    assert result.effective_n < result.raw.n
    assert set(result.to_estimates()) == {"nps_ipw_score", "nps_ipw_response_rate_pct"}


def test_ipw_moves_nps_toward_truth_when_mood_drives_response() -> None:
    """The simulator's NPS response depends on latent mood; the truth is every invitee's score."""
    world, latent = _simulate(40_000, 30, 3, "2023-01-01", keep_latent=True)
    data = world.to_cxdata()
    snap = snapshot(data, horizon_months=3)
    population = nps_population(snap, data.surveys, lookback_months=12, min_tenure_months=6)
    as_of = pd.Timestamp(snap.attrs["as_of"])
    month = (as_of.year - 2023) * 12 + as_of.month - 1
    invites = latent["nps_invitations"]
    invites = invites[(invites["month"] >= month - 12) & (invites["month"] < month)
                      & invites["customer_id"].isin(population["customer_id"])]
    truth = nps(invites.sort_values("month").groupby("customer_id")["score"].last()).score
    result = ipw_nps(population)
    assert result.raw.score - truth > 10  # non-response bias: unhappy customers answer less
    assert truth < result.corrected.value < result.raw.score  # IPW moves toward the truth...
    assert result.correction < -0.1  # ...by a visible amount, though observed traits explain little of mood
    assert responder_churn(population).difference.value > 0  # non-responders churn more


def test_survey_population_of_a_transactional_survey_is_the_customers_asked() -> None:
    as_of = pd.Timestamp("2024-01-01")
    snap = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "active": [True, True, True, False],
                         "tenure_months": 12.0, "churned": False})
    snap.attrs["as_of"] = as_of.isoformat()
    t = pd.to_datetime(["2023-06-01", "2023-07-01", "2023-11-01", "2022-06-01", "2023-09-01", "2023-10-01"])
    contacts = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "d"], "timestamp": t,
                             "direction": ["reactive", "reactive", "reactive", "reactive", "proactive", "reactive"]})
    surveys = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "instrument": ["csat", "csat", "ces", "csat"],
                            "timestamp": pd.to_datetime(["2023-06-02", "2023-07-02", "2023-11-02", "2022-06-02"]),
                            "score": [2, 5, 6, 1]})
    pop = survey_population(snap, surveys, "csat", 12, contacts=contacts)
    # c's only reactive contact is before the lookback (its proactive one does not count), d is not active
    assert list(pop["customer_id"]) == ["a", "b"] and list(pop["reactive_lookback"]) == [2, 1]
    assert list(pop["responded"]) == [True, False] and pop["score"].iloc[0] == 5  # latest answer
    assert len(survey_population(snap, surveys, "csat", 12)) == 3  # no contacts: every active customer


@pytest.mark.parametrize("instrument", ["csat", "ces"])
def test_ipw_recovers_csat_and_ces_when_response_depends_on_observed_traits(instrument: str) -> None:
    """Unhappy customers (churners, unresolved contacts) answer less, and many contacts mean many invitations:
    missing at random given recorded traits, so IPW must recover every customer's score and the raw must not."""
    rng = np.random.default_rng(3 if instrument == "csat" else 4)
    n = 30_000
    churned = rng.random(n) < 0.2
    unresolved = rng.poisson(0.6, n)
    contacts = 1 + unresolved + rng.poisson(0.8, n)
    if instrument == "csat":  # 1-5, 5 = very satisfied
        score = np.clip(np.round(4.2 - 1.2 * churned - 0.6 * unresolved + rng.normal(0, 0.8, n)), 1, 5)
    else:  # 1-7, 7 = very high effort
        score = np.clip(np.round(3.0 + 1.0 * churned + 0.9 * unresolved + rng.normal(0, 1.0, n)), 1, 7)
    responded = rng.random(n) < special.expit(-1.0 + 0.5 * np.log1p(contacts) - 1.2 * churned - 0.5 * unresolved)
    population = pd.DataFrame({"churned": churned, "unresolved_90d": unresolved, "reactive_lookback": contacts,
                               "responded": responded, "score": np.where(responded, score, np.nan)})
    result = ipw_scores(population, instrument)
    assert result.covariates == ["unresolved_90d", "reactive_lookback", "churned"]
    truth = {"csat": {"top2_pct": 100 * np.mean(score >= 4), "mean": score.mean()},
             "ces": {"mean": score.mean(), "high_effort_pct": 100 * np.mean(score >= 5)}}[instrument]
    table = result.table
    assert set(table.index) == set(truth)
    for metric, true in truth.items():
        row = table.loc[metric]
        bias = true - row.raw
        assert abs(bias) > 4 * (row.raw_ci_high - row.raw_ci_low) / 3.92  # raw off by more than 4 SEs
        assert row.ci_low < true < row.ci_high, (metric, true, row)
        assert abs(row.ipw - true) < 0.2 * abs(bias)  # at least 80% of the bias removed
        assert np.sign(result.correction(metric)) == np.sign(bias)
    assert result.response_rate_pct == pytest.approx(100 * responded.mean())
    estimates = result.to_estimates()
    assert set(estimates) == {f"{instrument}_ipw_{m}" for m in truth} | {f"{instrument}_ipw_response_rate_pct"}
    with pytest.raises(ValueError, match="instrument"):
        ipw_scores(population, "nps")


def test_ipw_transactional_leaves_out_instruments_nobody_or_everybody_answered() -> None:
    rng = np.random.default_rng(1)
    n = 400
    as_of = pd.Timestamp("2024-01-01")
    snap = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "active": True, "churned": rng.random(n) < 0.2,
                         "tenure_months": rng.uniform(1, 40, n)})
    snap.attrs["as_of"] = as_of.isoformat()
    contacts = pd.DataFrame({"customer_id": snap["customer_id"], "direction": "reactive",
                             "timestamp": as_of - pd.Timedelta(days=30)})
    asked = rng.random(n) < 0.5
    surveys = pd.concat([
        pd.DataFrame({"customer_id": snap.loc[asked, "customer_id"], "instrument": "csat", "score": 4,
                      "timestamp": as_of - pd.Timedelta(days=29)}),
        pd.DataFrame({"customer_id": snap["customer_id"], "instrument": "ces", "score": 3,  # everybody answered
                      "timestamp": as_of - pd.Timedelta(days=29)}),
    ])
    out = ipw_transactional(snap, surveys, contacts, 12)
    assert list(out) == ["csat"] and out["csat"].n_population == n
    assert out["csat"].table.loc["top2_pct", "ipw"] == pytest.approx(100.0)  # every answer was a 4
    # contacts exist but none in the lookback: nobody was asked, so nothing is corrected
    assert ipw_transactional(snap, surveys, contacts.assign(timestamp=as_of - pd.DateOffset(months=13)), 12) == {}
    assert list(ipw_transactional(snap, surveys, contacts.iloc[:0], 12)) == ["csat"]  # no contacts: all customers


def test_ipw_score_intervals_stay_on_their_scale() -> None:
    """Nine of ten responders satisfied: raw 90% with SE sqrt(0.9 x 0.1 / 10) = 9.5 points, so the normal interval
    would end at 108.6%; it stops at 100%, and the mean's at the scale's 5 points."""
    rng = np.random.default_rng(0)
    responded = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    population = pd.DataFrame({"churned": rng.random(20) < 0.3, "reactive_lookback": rng.integers(1, 4, 20),
                               "responded": responded, "score": np.where(responded, [5.0] * 9 + [2.0] + [0] * 10,
                                                                          np.nan)})
    table = ipw_scores(population, "csat").table
    raw = table.loc["top2_pct"]
    assert raw["raw"] == pytest.approx(90.0)
    assert raw["raw_ci_low"] == pytest.approx(90.0 - 1.959964 * np.sqrt(0.09 / 10) * 100, rel=1e-5)  # Hajek SE
    assert raw["raw_ci_high"] == 100.0 and raw["ci_high"] <= 100.0
    assert table.loc["mean", "ci_high"] <= 5.0 and table.loc["mean", "raw_ci_high"] <= 5.0
