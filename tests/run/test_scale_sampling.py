"""Tests for the sampled paths of notebooks 02, 04 and 05: data subsets, sampled churn-risk models, weighted
bootstrap survival curves, and what the notebooks record in their results files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cxresearch.churn.logit import churn_risk, fit_churn_logit
from cxresearch.churn.windows import out_of_time_snapshots
from cxresearch.data.sample import sample_data
from cxresearch.data.simulate import simulate
from cxresearch.economics import Valuation
from cxresearch.economics.survival_curve import SurvivalCases, resample_counts, survival_with_tail
from cxresearch.features.snapshot import snapshot
from cxresearch.loyalty.breakdowns import nps_by_segment, nps_gap_churned
from cxresearch.loyalty.evidence import Evidence, EvidenceTable, LogNormalInterval, ratio_rule
from cxresearch.loyalty.metrics import nps
from cxresearch.loyalty.responses import surveys_linked
from cxresearch.report.record.churn import record_churn_drivers
from cxresearch.report.record.economics import record_economics
from cxresearch.report.record.loyalty import record_loyalty
from cxresearch.report.results import Results


@pytest.fixture(scope="module")
def data():
    return simulate(n_customers=4_000, months=24, seed=5).to_cxdata()


def test_sample_data_keeps_every_event_of_the_sampled_customers(data) -> None:
    sub = sample_data(data, 1_000, seed=3)
    assert sub.sample.sampled and sub.sample.n_used == 1_000 and sub.sample.n_total == len(data.customers)
    ids = set(sub.data.customers["customer_id"])
    assert len(ids) == 1_000
    for table in ("contacts", "surveys"):
        full, part = getattr(data, table), getattr(sub.data, table)
        assert set(part["customer_id"]) <= ids
        assert len(part) == full["customer_id"].isin(ids).sum()  # nothing of theirs is lost
    assert sub.data.fingerprint != data.fingerprint  # so a suite run's cached features are never served for it
    # a sampled customer's features are exactly those computed on the full data
    b = snapshot(sub.data).set_index("customer_id")
    a = snapshot(data).set_index("customer_id")
    assert len(b) > 500 and set(b.index) == ids & set(a.index)
    pd.testing.assert_frame_equal(a.loc[b.index], b)


def test_sample_data_takes_everything_when_small_enough(data) -> None:
    sub = sample_data(data, None)
    assert sub.data is data and not sub.sample.sampled
    assert sample_data(data, 10_000).data is data


def test_churn_risk_scores_every_active_customer_from_a_sampled_fit(data) -> None:
    snap = snapshot(data)
    active = snap[snap["active"]]
    full = churn_risk(data)
    assert not full.sample.sampled
    np.testing.assert_allclose(full.risk, fit_churn_logit(snap).predict_proba(active))
    part = churn_risk(data, max_customers=1_500, seed=1)
    assert part.sample.sampled and part.sample.n_used == 1_500 and len(part.risk) == len(active)
    # fitted on 60% of the customers, the logit ranks all of them about as well as the full fit (AUC 0.717)
    y = active["churned"].to_numpy()
    assert roc_auc_score(y, part.risk) == pytest.approx(roc_auc_score(y, full.risk), abs=0.02)
    assert part.risk.mean() == pytest.approx(y.mean(), abs=0.01)


def test_out_of_time_snapshots_reuse_the_test_snapshot(data) -> None:
    snap = snapshot(data)
    train, test = out_of_time_snapshots(data, snap.attrs["as_of"])
    train2, test2 = out_of_time_snapshots(data, snap.attrs["as_of"], test=snap)
    pd.testing.assert_frame_equal(test, test2)
    pd.testing.assert_frame_equal(train, train2)


@pytest.mark.parametrize("with_entry", [False, True])
def test_weighted_survival_equals_the_resampled_rows(with_entry: bool) -> None:
    """A bootstrap resample given as case counts gives the same curve, cut-off and tail as the resampled rows."""
    rng = np.random.default_rng(7)
    n = 3_000
    t = np.round(rng.exponential(20, n), 1).clip(0.1, 40)
    e = rng.random(n) < 0.7
    a = np.where(rng.random(n) < 0.3, np.minimum(rng.uniform(0, 10, n), t - 0.05), 0.0) if with_entry else None
    months = np.arange(1.0, 61)
    cases = SurvivalCases(t, e, a)
    for seed in range(3):
        idx = np.random.default_rng(seed).integers(0, n, n)
        w = resample_counts(np.random.default_rng(seed), n)
        s_w, tc_w, lam_w, _ = cases.survival_with_tail(w, months, 10)
        s_r, tc_r, lam_r, _ = survival_with_tail(t[idx], e[idx], months, 10, entry=None if a is None else a[idx])
        np.testing.assert_allclose(s_w, s_r, rtol=1e-12)
        assert tc_w == tc_r and lam_w == pytest.approx(lam_r, rel=1e-12)


def test_loyalty_helpers_by_hand() -> None:
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "contract": ["x", "x", "y"]})
    surveys = pd.DataFrame({"customer_id": ["a", "b", "c", "c", "a"], "instrument": ["nps"] * 4 + ["csat"],
                            "score": [10, 0, 9, 9, 5]})
    by = nps_by_segment(surveys, customers, "contract", min_n=2)
    assert by["x"].score == 0.0 and by["y"].score == 100.0
    assert set(nps_by_segment(surveys, customers, "contract", min_n=3)) == set()
    assert not surveys_linked(surveys, pd.DataFrame({"contact_id": [1]}))
    linked = surveys.assign(contact_id=[1, None, None, None, None])
    assert surveys_linked(linked, pd.DataFrame({"contact_id": [1]}))
    snap = pd.DataFrame({"active": [True] * 4 + [False], "churned": [True, True, False, False, True],
                         "nps_last": [0, 0, 10, 9, np.nan]})
    gap = nps_gap_churned(snap)
    assert gap.difference == -200.0  # churners all detractors (-100), stayers all promoters (+100)
    assert nps_gap_churned(snap.assign(nps_last=np.nan)) is None
    assert nps_gap_churned(None) is None


def test_recorders_keep_the_keys_the_summary_reads() -> None:
    results = Results("04_loyalty_metrics", {}, "x")
    interval = LogNormalInterval(math.log(0.9), (math.log(0.95) - math.log(0.8)) / (2 * 1.959964))
    row = Evidence.judged("1a", "Satisfied customers stay", "logit", 0.9, interval, "odds ratio",
                          ratio_rule("less"), 100)
    evidence = EvidenceTable((row, Evidence.untestable("6", "Promoters recommend", "poisson", "no referrals")))
    record_loyalty(results, {"nps": nps([10, 9, 0, 7])}, evidence=evidence, lookback_months=12,
                   trends={"nps": pd.DataFrame()})
    assert results.estimates["nps_score"].value == 25.0 and "claim_1a" in results.estimates
    assert results.findings[0].startswith("NPS is 25.0") and "evidence" in results.tables
    assert [s["analysis"] for s in results.skipped] == ["claim 6: Promoters recommend"]

    results = Results("02_churn_drivers", {}, "x")
    record_churn_drivers(results, None, truth_customers=100_000, clv=200.0)
    assert [s["analysis"] for s in results.skipped] == ["known-truth check"]

    results = Results("05_retention_economics", {}, "x")
    record_economics(results, "contract", valuation=Valuation(0.01, 60))
    # No CLV at all: the notebook's own skip says why; no second skip for the segments.
    assert results.skipped == [] and not results.estimates


def test_recovery_with_truth_error_by_hand() -> None:
    from cxresearch.truth.churn import recovery_with_truth_error

    recovery = pd.DataFrame({"name": ["a", "b"], "true": [1.0, 1.0], "estimate": [np.exp(0.05), np.exp(0.2)]})
    truth = pd.DataFrame({"true_se": [0.03, 0.03]}, index=["a", "b"])
    coefficients = pd.DataFrame({"se": [0.04, 0.04]}, index=["b", "a"])
    out = recovery_with_truth_error(recovery, truth, coefficients)
    assert out["combined_se"].tolist() == pytest.approx([0.05, 0.05])  # sqrt(0.04^2 + 0.03^2)
    assert out["within_error"].tolist() == [True, False]  # 0.05 <= 1.96 x 0.05 < 0.2
