"""Notebook 06's steps: a hand-computed case, the simulator's known reason model, and IBM Telco's figures pinned."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.simulate import simulate
from cxresearch.survival import churn_reasons as cr
from cxresearch.survival.columns import FROM_ENTRY, LifetimeColumns
from cxresearch.survival.gray import gray_test

TELCO = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ibm-telco-11.1.3"


def hand_case(entry: bool = True) -> cr.ReasonData:
    """Times 1 (price), 2 (censored), 3 (service), 3 (price), 4 and 5 (censored); the last enters at 2.5."""
    lt = pd.DataFrame({"duration_months": [1.0, 2, 3, 3, 4, 5], "event": [True, False, True, True, False, False],
                       "end_reason": ["price", None, "service", "price", None, None],
                       "entry_months": [0, 0, 0, 0, 0, 2.5 if entry else 0]})
    return cr.ReasonData(lt, (1.0, 3.0), columns=LifetimeColumns(entry="entry_months" if entry else None))


def test_hand_computed_incidence_share_and_one_minus_km() -> None:
    result = cr.overall_incidence(hand_case())
    at = result.summary().set_index(["cause", "months"])["cif"]
    # t=1: 5 at risk (not the late entrant), 1 price: F_price = 1/5, S = 4/5. t=3: 4 at risk (the entrant
    # included), 1 service and 1 price: each 1/4 * 4/5 = 1/5 more.
    assert at[("price", 3)] == pytest.approx(0.4) and at[("service", 3)] == pytest.approx(0.2)
    # Service's share of the churn by month 3: 0.2 / 0.6.
    assert result.share.value == pytest.approx(100 / 3)
    assert result.finding().startswith("Of customers who left by 3 months, 33% (95% CI")
    naive = result.naive.set_index(["cause", "months"])["one_minus_km"]
    # Kaplan-Meier of service alone treats the price leaver at 1 as censored: 1 - 3/4 = 0.25 > 0.2.
    assert naive[("service", 3)] == pytest.approx(0.25)
    assert naive[("price", 3)] == pytest.approx(1 - 4 / 5 * 3 / 4)
    assert result.overstatement() == ("By 3 months, 40.0 of 100 customers have left for price; one minus "
                                      "Kaplan-Meier for price alone would say 40.0.")


def test_per_100_reads_customers_of_100_with_the_interval() -> None:
    summary = pd.DataFrame({"group": ["all", "all"], "cause": ["price", "price"], "months": [12.0, 24.0],
                            "cif": [0.123, np.nan], "ci_low": [0.111, np.nan], "ci_high": [0.134, np.nan]})
    table = cr.per_100(summary)
    assert table.loc[("all", "price"), "by 12 months"] == "12.3 (11.1-13.4)"
    assert table.loc[("all", "price"), "by 24 months"] == "–"


def test_service_share_not_estimable_without_service_churn() -> None:
    lt = hand_case().lifetimes.assign(end_reason=lambda d: d["end_reason"].replace("service", "price"))
    result = cr.overall_incidence(cr.ReasonData(lt, (3.0,), columns=FROM_ENTRY))
    assert not result.share.estimable and "nobody left for service" in result.share.reason


def test_gray_test_on_untruncated_data_and_fine_gray_wald_with_late_entry() -> None:
    rng = np.random.default_rng(4)
    n = 1000
    group = rng.choice(["a", "b"], n)
    end = rng.exponential(np.where(group == "a", 6, 24))
    censor = rng.uniform(5, 40, n)
    reason = np.where(end <= censor, rng.choice(["service", "price"], n), None)
    lt = pd.DataFrame({"duration_months": np.minimum(end, censor), "event": end <= censor, "end_reason": reason,
                       "entry_months": 0.0, "segment": group})
    untruncated, why = cr.segment_incidence(cr.ReasonData(lt, (6.0, 12.0)), "segment")
    assert why == "" and untruncated.test["method"].item() == "Gray's test"
    assert untruncated.test["statistic"].item() == pytest.approx(gray_test(lt, "service", "segment").statistic)
    assert untruncated.test["p"].item() < 0.05  # monthly hazards 1/6 vs 1/24, half of it service
    late = lt.assign(entry_months=np.where(rng.uniform(size=n) < 0.3, 0.5 * lt["duration_months"], 0.0))
    truncated, _ = cr.segment_incidence(cr.ReasonData(late, (6.0, 12.0), columns=FROM_ENTRY), "segment")
    assert truncated.test["method"].item() == "Fine-Gray Wald test" and "left truncation" in truncated.test_why
    assert truncated.test["df"].item() == 1 and truncated.test["p"].item() < 0.05  


def test_no_reasons_says_so() -> None:
    reasons = cr.reason_data(simulate(1_000, 12, seed=2, reasons=False).to_cxdata())
    assert reasons.lifetimes is None and reasons.needs == cr.NEEDS_REASONS and "end_reason" in reasons.why_not


@pytest.fixture(scope="module")
def world():
    """The demo world's settings (20,000 customers, 36 months, seed 0) with simulated reasons."""
    return simulate(20_000, 36, seed=0)


def test_simulated_world_shares_cause_specific_contrast_and_truth(world) -> None:
    data = world.to_cxdata()
    reasons = cr.reason_data(data, (12, 24, 48, 120))
    assert reasons.horizons == (12.0, 24.0, 48.0) and reasons.columns.entry == "entry_months"  # 120 > the follow-up
    share = cr.overall_incidence(reasons).share
    # truth's share is the mean reason probability over all simulated churners; ours is the share of churn by
    # 48 months of a new customer: the same quantity up to the mix of tenures, so within 2 points.
    assert abs(share.value - 100 * world.truth["churn_reasons"]["share"]["service"]) < 2
    hazards, why_not = cr.cause_specific_hazards(data, reasons, 3)
    assert why_not == "" and hazards.time_varying and hazards.events["service"] == 2290
    contrast = hazards.contrast(cr.SERVICE, "price")
    # log(h_service / h_price) = gamma_service - gamma_price exactly: 0.45, 0.60 and 0.35 per unit, all > 0.
    for term in ("unresolved_90d", "inconsistency_90d", "ces_centred_90d"):
        assert contrast.loc[term, "ci_low"] > 1, contrast
    assert contrast.loc["inconsistency_90d", "ci_low"] < math.exp(0.60) < contrast.loc["inconsistency_90d", "ci_high"]
    assert contrast.loc["ces_centred_90d", "ci_low"] < math.exp(0.35) < contrast.loc["ces_centred_90d", "ci_high"]
    recovery, _, sample = cr.reason_recovery(data, world.truth)
    assert not sample.sampled
    assert recovery["truth_in_ci"].mean() >= 0.7 and cr.recovery_sentence(recovery).endswith(
        "14 of 14 non-zero effects with the right sign.")


@pytest.mark.skipif(not TELCO.is_dir(), reason=f"IBM Telco 11.1.3 not found at {TELCO}")
def test_telco_figures() -> None:
    from cxresearch.data.load import load_source

    data = load_source(f"ibm-telco:{TELCO}")
    reasons = cr.reason_data(data)
    incidence = cr.overall_incidence(reasons)
    at = incidence.summary().set_index(["cause", "months"])["cif"]
    expected = {("service", 12): 0.2912, ("service", 24): 0.3189, ("service", 48): 0.3278,
                ("competitor", 12): 0.4059, ("competitor", 48): 0.4530, ("price", 48): 0.1096}
    assert {k: round(at[k], 4) for k in expected} == expected
    share = incidence.share
    assert (round(share.value, 2), round(share.ci_low, 2), round(share.ci_high, 2)) == (32.97, 30.05, 35.82)
    segments, _ = cr.segment_incidence(reasons, "contract")
    assert segments.test["method"].item() == "Fine-Gray Wald test"
    assert segments.test["statistic"].item() == pytest.approx(60.7, abs=0.05)
    hazards, why_not = cr.cause_specific_hazards(data, reasons)
    assert not hazards.time_varying and "event dates" in why_not
    hr = hazards.summary().set_index(["cause", "term"])["hr"]
    assert hr[("service", "csat_score")] == pytest.approx(0.483, abs=1e-3)
    fine_gray, _ = cr.service_fine_gray(reasons)
    assert fine_gray.model.truncated and cr.TRUNCATED_FINE_GRAY in fine_gray.notes()


def test_person_month_cloglog_where_the_plain_iteration_overshoots() -> None:
    # Two cells, 10 of 1,000 and 196 of 200 person-months ending, driver 0 vs 8: the saturated model's MLE is
    # log(-log(1 - p)) per cell, its variance p / (n (1 - p) log(1 - p)^2) (delta method). From the flat start
    # the plain Fisher step overshoots to hazards of 1 (`cloglog.fit_cloglog` fails here).
    n, d = np.array([1000, 200]), np.array([10, 196])
    long = pd.DataFrame({"tenure": 1, "event": np.r_[np.arange(n[0]) < d[0], np.arange(n[1]) < d[1]],
                         "x": np.r_[np.zeros(n[0]), np.full(n[1], 8.0)]})
    p = d / n
    fit = cr._cloglog_of(long, long[["x"]]).iloc[0]
    assert fit["coef"] == pytest.approx(np.diff(np.log(-np.log1p(-p)))[0] / 8, abs=1e-9)
    assert fit["se"] == pytest.approx(np.sqrt(np.sum(p / (n * (1 - p) * np.log1p(-p) ** 2))) / 8, rel=1e-6)
    # nobody with the driver leaves: no finite estimate (blanked and noted by the caller)
    none = long.assign(event=np.r_[np.arange(n[0]) < d[0], np.zeros(n[1], bool)])
    assert np.isnan(cr._cloglog_of(none, none[["x"]]).iloc[0]["coef"])
