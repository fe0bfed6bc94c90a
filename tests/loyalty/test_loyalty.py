"""Tests for cxresearch.loyalty.metrics: NPS/CSAT/CES metrics and churn by score level, vs hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cxresearch.loyalty.breakdowns import churn_by_level, metric_by, monthly_trend
from cxresearch.loyalty.metrics import (
    NPSResult,
    ScoreResult,
    ces,
    compare_nps,
    csat,
    nps,
    nps_group,
)
from cxresearch.loyalty.responses import survey_window, surveys_linked
from cxresearch.loyalty.validity import compare_predictive_validity
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import wilson_pct

Z = 1.959963984540054


def wilson_by_hand(count: int, n: int) -> tuple[float, float]:
    """Wilson score interval in percent, written out from the formula."""
    p = count / n
    denom = 1 + Z**2 / n
    center = (p + Z**2 / (2 * n)) / denom
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denom
    return 100 * (center - half), 100 * (center + half)


def adjusted_wald_nps(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """Rocks (2016) adjusted-Wald NPS interval in points, written out: 3/4 promoter and detractor added, n + 3."""
    pro, det = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
    half = Z * math.sqrt((pro + det - (pro - det) ** 2) / (n + 3))
    return 100 * (pro - det - half), 100 * (pro - det + half)


def adjusted_mean(values: list[float], low: float, high: float) -> tuple[float, float]:
    """Mean interval with one pseudo-answer at each end of the scale (Agresti-Caffo style), written out."""
    augmented = np.array([*values, low, high], dtype=float)
    center, n = augmented.mean(), augmented.size
    half = Z * math.sqrt(np.mean((augmented - center) ** 2) / n)
    return center - half, center + half


HAND = [10, 9, 9, 8, 7, 6, 5, 0, 10, 3]


def test_nps_hand_computed() -> None:
    result = nps(HAND)
    assert isinstance(result, NPSResult)
    assert result.n == 10
    assert result.promoters == pytest.approx(0.4)
    assert result.passives == pytest.approx(0.2)
    assert result.detractors == pytest.approx(0.4)
    assert result.score == pytest.approx(0.0)
    # adjusted: pro = det = 4.75 / 13 -> var = 9.5 / 13 / 13 -> half-width 100 * Z * sqrt(0.05621) = 46.469
    assert (result.ci_low, result.ci_high) == pytest.approx(adjusted_wald_nps(4, 4, 10))
    assert result.ci_high == pytest.approx(46.4693, abs=1e-3)


def test_nps_asymmetric_and_clipped() -> None:
    result = nps([10, 10, 10, 9, 8, 2])
    # pro 4/6, det 1/6: NPS 50; var = (5/6 - 0.25) / 6
    assert result.score == pytest.approx(50.0)
    low, high = adjusted_wald_nps(4, 1, 6)
    assert result.ci_low == pytest.approx(low)
    assert high < 100.0 and result.ci_high == pytest.approx(high)
    all_promoters = nps([10, 9, 10])  # the plain Wald interval was [100, 100]
    assert all_promoters.score == 100.0 and all_promoters.ci_high == 100.0
    assert all_promoters.ci_low == pytest.approx(adjusted_wald_nps(3, 0, 3)[0]) and all_promoters.ci_low < 50


def test_nps_drops_missing_and_counts_them() -> None:
    result = nps(pd.Series([10, np.nan, 0, None, 9]))
    assert result.n == 3 and result.n_missing == 2
    assert result.score == pytest.approx(100 * (2 / 3 - 1 / 3))


@pytest.mark.parametrize("bad", [11, -1, 7.5, "x"])
def test_nps_rejects_bad_scores_naming_them(bad: object) -> None:
    with pytest.raises(ValueError, match=str(bad).replace(".", r"\.")):
        nps([10, bad, 3])


def test_metrics_reject_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no NPS scores"):
        nps([np.nan, np.nan])
    with pytest.raises(ValueError, match="CSAT score 0 is not an integer from 1 to 5"):
        csat([1, 0])
    with pytest.raises(ValueError, match="CES score 8 is not an integer from 1 to 7"):
        ces([8])


def test_nps_summary_and_estimates() -> None:
    result = nps(HAND)
    summary = result.summary()
    assert list(summary.index) == ["nps", "promoters_pct", "passives_pct", "detractors_pct"]
    assert summary.loc["promoters_pct", "value"] == pytest.approx(40.0)
    low, high = wilson_by_hand(4, 10)
    assert summary.loc["promoters_pct", "ci_low"] == pytest.approx(low)
    assert summary.loc["promoters_pct", "ci_high"] == pytest.approx(high)
    estimates = result.to_estimates("nps_all")
    assert set(estimates) == {
        "nps_all_score",
        "nps_all_promoters_pct",
        "nps_all_passives_pct",
        "nps_all_detractors_pct",
    }
    assert all(isinstance(e, Estimate) for e in estimates.values())
    assert estimates["nps_all_score"].unit == "points" and estimates["nps_all_score"].n == 10


def test_csat_top2_wilson_and_mean_t() -> None:
    scores = [5, 4, 3, 2, 1, 5, np.nan]
    result = csat(scores)
    assert isinstance(result, ScoreResult) and result.instrument == "csat"
    assert (result.n, result.n_missing) == (6, 1)
    assert result.headline.value == pytest.approx(50.0)
    assert (result.headline.ci_low, result.headline.ci_high) == pytest.approx(wilson_by_hand(3, 6))
    assert result.headline.ci_low == pytest.approx(18.7616, abs=1e-4)
    assert result.mean.value == pytest.approx(20 / 6)
    # one pseudo-answer at 1 and one at 5: centre 26 / 8 = 3.25, variance 21.5 / 8 = 2.6875 -> half-width 1.136
    assert (result.mean.ci_low, result.mean.ci_high) == pytest.approx(adjusted_mean([5, 4, 3, 2, 1, 5], 1, 5))
    assert result.mean.ci_low == pytest.approx(3.25 - Z * math.sqrt(2.6875 / 8))
    assert set(result.to_estimates()) == {"csat_top2_pct", "csat_mean"}


def test_ces_high_effort_and_mean() -> None:
    scores = [1, 2, 2, 3, 3, 3, 4, 5, 6, 7] * 3
    result = ces(scores)
    assert isinstance(result, ScoreResult) and result.instrument == "ces"
    assert result.n == 30
    assert result.headline.value == pytest.approx(30.0)
    assert (result.headline.ci_low, result.headline.ci_high) == pytest.approx(wilson_by_hand(9, 30))
    assert result.mean.value == pytest.approx(3.6)
    assert (result.mean.ci_low, result.mean.ci_high) == pytest.approx(adjusted_mean(scores, 1, 7))
    summary = result.summary()
    assert summary.loc["high_effort_pct", "unit"] == "%"
    single = ces([4])  # one answer still has an interval: (4 + 1 + 7) / 3 = 4, variance 18 / 3 = 6 -> 4 +/- Z sqrt(6 / 3)
    assert single.n == 1 and (single.mean.ci_low, single.mean.ci_high) == pytest.approx(adjusted_mean([4], 1, 7))
    assert single.to_estimates()["ces_mean"].ci_low == pytest.approx(4 - Z * math.sqrt(6 / 3))


def test_nps_group_labels() -> None:
    labels = nps_group(pd.Series([0, 6, 7, 8, 9, 10, np.nan]))
    assert list(labels.iloc[:6]) == ["detractor", "detractor", "passive", "passive", "promoter", "promoter"]
    assert pd.isna(labels.iloc[6])
    with pytest.raises(ValueError, match="12"):
        nps_group([12])


def test_compare_nps_identical_groups() -> None:
    result = compare_nps(HAND, HAND)
    assert result.difference == pytest.approx(0.0)
    assert result.p_value == pytest.approx(1.0)
    # each group's adjusted variance: 1e4 * 9.5 / 13 / 13
    assert result.ci_low == pytest.approx(-Z * math.sqrt(2 * 1e4 * 9.5 / 169))


def test_compare_nps_hand_computed() -> None:
    a = [10] * 6 + [0] * 4  # NPS 20; adjusted: (6.75 - 4.75) / 13, var = (11.5 / 13 - (2 / 13)**2) / 13
    b = [10] * 3 + [0] * 7  # NPS -40; adjusted: (3.75 - 7.75) / 13, var = (11.5 / 13 - (4 / 13)**2) / 13
    result = compare_nps(a, b)
    center = 100 * (2 / 13 + 4 / 13)
    se = 100 * math.sqrt((11.5 / 13 - (2 / 13) ** 2) / 13 + (11.5 / 13 - (4 / 13) ** 2) / 13)
    assert result.difference == pytest.approx(60.0)
    assert (result.ci_low, result.ci_high) == pytest.approx((center - Z * se, center + Z * se))
    assert result.p_value == pytest.approx(math.erfc(center / se / math.sqrt(2)))
    assert result.summary().loc["a - b", "nps"] == pytest.approx(60.0)
    assert "p = " in result.to_estimates()["nps_difference"].note


@pytest.fixture
def small_snapshot() -> pd.DataFrame:
    """Hand-built snapshot: 3 detractors (2 churn), 2 passives (0), 3 promoters (1), plus excluded rows."""
    return pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(11)],
            "active": [True] * 8 + [False, True, False],
            "churned": [True, True, False, False, False, True, False, False, True, True, False],
            "nps_last": [0, 5, 6, 7, 8, 9, 10, 10, 0, np.nan, 10],
            "ces_mean_90d": [1.0, 2.5, 6.0, 4.0, 7.0, 3.5, np.nan, 2.0, 1.0, 1.0, 1.0],
        }
    )


def test_churn_by_level_nps_groups(small_snapshot: pd.DataFrame) -> None:
    table = churn_by_level(small_snapshot, "nps_last")
    assert table.index.name == "nps_group"
    assert list(table.index) == ["detractor", "passive", "promoter"]
    assert list(table["n"]) == [3, 2, 3]  # inactive rows and the active non-respondent are excluded
    assert list(table["n_churned"]) == [2, 0, 1]
    assert table.loc["detractor", "churn_pct"] == pytest.approx(200 / 3)
    assert (table.loc["passive", "ci_low"], table.loc["passive", "ci_high"]) == pytest.approx(
        wilson_by_hand(0, 2)
    )


def test_churn_by_level_integer_levels_and_bins() -> None:
    snapshot = pd.DataFrame(
        {"active": True, "churned": [True, False, False, True, False], "csat_last": [1, 1, 5, 5, 5]}
    )
    table = churn_by_level(snapshot, "csat_last")
    assert list(table.index) == [1, 5] and list(table["n"]) == [2, 3]
    binned = pd.DataFrame(
        {"active": True, "churned": [True, False, True, False], "ces_mean_90d": [1.0, 2.5, 6.0, 7.0]}
    )
    table = churn_by_level(binned, "ces_mean_90d", bins=[1, 4, 7], labels=["low effort", "high effort"])
    assert list(table.index) == ["low effort", "high effort"]
    assert list(table["churn_pct"]) == pytest.approx([50.0, 50.0])


def test_churn_by_level_continuous_uses_quintiles() -> None:
    rng = np.random.default_rng(3)
    snapshot = pd.DataFrame(
        {"active": True, "churned": rng.random(500) < 0.2, "tenure_months": rng.uniform(0, 60, 500)}
    )
    table = churn_by_level(snapshot, "tenure_months")
    assert len(table) == 5 and table["n"].sum() == 500


def test_churn_by_level_missing_column(small_snapshot: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="csat_last"):
        churn_by_level(small_snapshot, "csat_last")


def test_metric_by_groups_and_min_n() -> None:
    scores = pd.Series(HAND + [10] * 5 + [1, 2])
    groups = pd.Series(["a"] * 10 + ["b"] * 5 + ["c"] * 2)
    table = metric_by(scores, groups, "nps", min_n=3)
    assert list(table.index) == ["a", "b"]  # c has 2 responses < 3
    assert table.loc["a", "value"] == pytest.approx(0.0)
    assert table.loc["a", "ci_high"] == pytest.approx(46.4693, abs=1e-3)
    assert table.loc["b", "value"] == 100.0 and table.loc["b", "unit"] == "points"
    csat_table = metric_by(pd.Series([5, 4, 3, 2, 1, 5]), pd.Series(["x"] * 6), "csat", min_n=1)
    assert (csat_table.loc["x", "ci_low"], csat_table.loc["x", "ci_high"]) == pytest.approx(wilson_by_hand(3, 6))
    with pytest.raises(ValueError, match="instrument"):
        metric_by(scores, groups, "ltr")


def test_monthly_trend_by_response_month() -> None:
    surveys = pd.DataFrame({
        "timestamp": pd.to_datetime(["2024-01-03", "2024-01-30", "2024-02-01", "2024-02-28", "2024-02-02"]),
        "instrument": ["ces", "ces", "ces", "ces", "nps"],
        "score": [7, 1, 5, 6, 10],
    })
    trend = monthly_trend(surveys, "ces", min_n=2)
    assert list(trend.index) == list(pd.to_datetime(["2024-01-01", "2024-02-01"]))
    assert list(trend["value"]) == pytest.approx([50.0, 100.0])  # % high effort (5-7)
    assert list(trend["n"]) == [2, 2]


def test_predictive_validity_by_hand_and_bootstrap() -> None:
    churned = np.array([1, 1, 0, 0, 0, 0])
    perfect = np.array([5, 4, 3, 2, 1, 0])
    tied = np.array([1, 0, 1, 0, 1, 0])  # P(pos > neg) + P(tie)/2 = (2 + 2*... ) -> 0.5
    result = compare_predictive_validity(churned, {"perfect": perfect, "tied": tied}, "perfect", n_boot=50)
    assert result.aucs.loc["perfect", "auc"] == 1.0
    assert result.aucs.loc["tied", "auc"] == pytest.approx(0.5)
    assert result.differences.loc["perfect - tied", "difference"] == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    n = 4000
    risk = rng.normal(size=n)
    y = rng.random(n) < special_expit(1.5 * risk - 2)
    good, poor = risk + rng.normal(0, 0.3, n), risk + rng.normal(0, 2.0, n)
    result = compare_predictive_validity(y, {"good": good, "poor": poor}, "good",
                                         clusters=np.arange(n) // 2, n_boot=200, seed=1)
    diff = result.differences.loc["good - poor"]
    assert 0 < diff.ci_low < diff.difference < diff.ci_high and diff.p_value < 0.01
    assert result.n_clusters == n // 2 and set(result.to_estimates()) == {"auc_good", "auc_poor", "auc_diff_poor"}
    with pytest.raises(ValueError, match="reference"):
        compare_predictive_validity(y, {"good": good}, "poor")


def special_expit(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize(("count", "n"), [(0, 3), (0, 40), (40, 40), (7, 7), (1, 1000)])
def test_wilson_interval_stays_within_0_and_100_around_the_share(count: int, n: int) -> None:
    low, high = wilson_pct(count, n)
    share = 100 * count / n
    assert 0.0 <= low <= share <= high <= 100.0
    by_hand = wilson_by_hand(count, n)
    assert low == pytest.approx(max(0.0, by_hand[0]), abs=1e-9) and high == pytest.approx(min(100.0, by_hand[1]), abs=1e-9)
    if count == 0:
        assert low == 0.0
    if count == n:
        assert high == 100.0


def test_surveys_are_not_linked_to_an_empty_contacts_table() -> None:
    surveys = pd.DataFrame({"customer_id": ["a"], "contact_id": ["K1"]})
    assert not surveys_linked(surveys, pd.DataFrame(columns=["customer_id", "contact_id"]))
    assert surveys_linked(surveys, pd.DataFrame({"customer_id": ["a"], "contact_id": ["K1"]}))
    assert not surveys_linked(surveys, pd.DataFrame({"customer_id": ["a"], "contact_id": ["K2"]}))


def test_flat_scores_become_one_undated_answer_per_customer() -> None:
    """Flat data: the headline metrics come from each customer's one score, and the report says it is undated."""
    snap = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "csat_last": [5.0, 4.0, 1.0, np.nan],
                         "nps_last": [10.0, np.nan, 3.0, 8.0]})
    snap.attrs["as_of"] = "2024-06-30T00:00:00"
    window = survey_window(pd.DataFrame(), snap, pd.Timestamp("2024-06-30"), 12, dated=False)
    assert not window.dated and window.period == "one score per customer, its date not recorded (flat data)"
    answers = window.recent
    assert sorted(answers.loc[answers["instrument"] == "csat", "score"]) == [1.0, 4.0, 5.0]
    assert nps(answers.loc[answers["instrument"] == "nps", "score"]).score == pytest.approx(0.0)  # 1 promoter, 1 detractor
    assert (answers["timestamp"] == pd.Timestamp("2024-06-30")).all()
    dated = pd.DataFrame({"customer_id": ["a", "a"], "instrument": ["nps", "nps"], "score": [9, 2],
                          "timestamp": pd.to_datetime(["2023-05-31", "2024-01-10"])})
    window = survey_window(dated, None, pd.Timestamp("2024-06-30"), 12, dated=True)
    assert window.recent["score"].tolist() == [2] and window.period == "in the 12 months before 2024-06-30"
