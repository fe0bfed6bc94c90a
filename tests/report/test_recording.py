"""Tests for cxresearch.report.record: the keys added for PD bands, CSAT/CES non-response and the Cox rows of claim 1."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special

from cxresearch.churn.drivers import PartialDependence, PartialDependenceBands
from cxresearch.churn.evaluation import evaluate_predictions
from cxresearch.loyalty.claims import SURVIVAL_ANALYSIS
from cxresearch.loyalty.evidence import Evidence, EvidenceTable, LogNormalInterval, ratio_rule
from cxresearch.loyalty.metrics import nps
from cxresearch.loyalty.nonresponse import WeightedScores
from cxresearch.report.record.churn import record_churn_drivers
from cxresearch.report.record.loyalty import record_loyalty
from cxresearch.report.results import Results
from cxresearch.stats.sampling import sample_customers


def test_partial_dependence_bands_are_recorded_as_table_and_estimates() -> None:
    rng = np.random.default_rng(0)
    prob = special.expit(-2 + rng.normal(size=500))
    y = (rng.random(500) < prob).astype(int)
    evaluation = evaluate_predictions(y, {"logistic regression": prob, "gradient boosting": prob ** 0.9}, "t", 10)
    curve = pd.DataFrame({"value": [1.0, 7.0], "churn_pct": [2.0, 9.0], "se": [0.5, 1.0],
                          "ci_low": [1.0, 7.0], "ci_high": [3.0, 11.0]})
    curve = PartialDependence("ces_mean_90d", "CES", curve, range_points=7.0, range_ci=(5.0, 9.0))
    results = Results("02_churn_drivers", {}, "x")
    record_churn_drivers(results, None, truth_customers=100, evaluation=evaluation, clv=200.0,
                         pd_bands=PartialDependenceBands([curve], 20, 1000, 500))
    estimate = results.estimates["pd_range_ces_mean_90d"]
    assert (estimate.value, estimate.ci_low, estimate.ci_high, estimate.unit) == (7.0, 5.0, 9.0, "points")
    assert "7 minus at 1" in estimate.label and len(results.tables["partial_dependence"]) == 2


def test_csat_ces_nonresponse_and_survival_samples_are_recorded() -> None:
    table = pd.DataFrame({"unit": ["%", "points (1-5)"], "label": ["CSAT satisfied (4-5)", "CSAT mean score"],
                          "raw": [64.0, 3.8], "raw_ci_low": [63.0, 3.78], "raw_ci_high": [65.0, 3.82],
                          "ipw": [56.0, 3.6], "ci_low": [54.0, 3.55], "ci_high": [58.0, 3.65]},
                         index=["top2_pct", "mean"])
    scores = WeightedScores("csat", table, 40.0, 1000, 400, 300.0, ["churned"])
    interval = LogNormalInterval(math.log(0.9), (math.log(0.95) - math.log(0.85)) / (2 * 1.959964))
    row = Evidence.judged("1a_cox", "Satisfied customers stay (survival model)", "cox", 0.9, interval,
                          "hazard ratio per point", ratio_rule("less"), 100)
    sample = sample_customers(pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)]}), 4, 0)
    evidence = EvidenceTable((row,), ((SURVIVAL_ANALYSIS, sample),))
    results = Results("04_loyalty_metrics", {}, "x")
    record_loyalty(results, {"nps": nps([10, 9, 0, 7])}, evidence=evidence, lookback_months=12,
                   weighted_scores={"csat": scores})
    assert set(results.estimates) >= {"nps_score", "claim_1a_cox", "csat_ipw_top2_pct", "csat_ipw_mean",
                                      "csat_ipw_response_rate_pct"}
    assert results.estimates["csat_ipw_top2_pct"].value == 56.0
    assert results.estimates["csat_ipw_response_rate_pct"].value == pytest.approx(40.0)
    assert len(results.tables["csat_ipw"]) == 4  # 2 metrics x raw / IPW
    assert any("64.0 among customers who answered" in f and "56.0% (95% CI 54.0 to 58.0)" in f
               for f in results.findings)
    assert [a["analysis"] for a in results.approximations] == [SURVIVAL_ANALYSIS]
    assert results.approximations[0]["n_used"] == 4
