"""Average effects against reference implementations (statsmodels Newcombe and Katz intervals, scipy's Welch
test) and hand-computed means; RMST against lifelines and, without censoring, against the sample itself."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from cxresearch.experiments.effects import average_effects, lift_interval, newcombe_interval, welch_interval
from cxresearch.experiments.rmst import rmst_difference, rmst_with_se


def test_newcombe_matches_statsmodels() -> None:
    for x1, n1, x0, n0 in [(56, 70, 48, 80), (9, 10, 3, 10), (0, 25, 4, 30), (1200, 21000, 800, 21000)]:
        expected = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff")
        np.testing.assert_allclose(newcombe_interval(x1, n1, x0, n0), expected, atol=1e-12)


def test_newcombe_published_example() -> None:
    # Newcombe (1998) Table II, example (a): 56/70 vs 48/80, method 10 gives 0.0524 to 0.3339
    low, high = newcombe_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    y1, y0 = rng.gamma(2.0, 3.0, 40), rng.gamma(1.5, 2.0, 75)
    ci = stats.ttest_ind(y1, y0, equal_var=False).confidence_interval(0.95)
    np.testing.assert_allclose(welch_interval(y1, y0), (ci.low, ci.high), atol=1e-12)


def test_lift_of_proportions_is_katz_log_interval() -> None:
    y1 = np.r_[np.ones(30), np.zeros(70)]
    y0 = np.r_[np.ones(20), np.zeros(100)]
    lift, low, high = lift_interval(y1, y0, binary=True)
    ratio_low, ratio_high = confint_proportions_2indep(30, 100, 20, 120, method="log", compare="ratio")
    assert lift == pytest.approx(0.30 / (20 / 120) - 1, abs=1e-12)
    np.testing.assert_allclose((low, high), (ratio_low - 1, ratio_high - 1), atol=1e-12)


def test_average_effects_by_arm_and_segment() -> None:
    arm = np.array(["control"] * 4 + ["a"] * 4 + ["b"] * 4)
    y = np.array([0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0])
    seg = np.array(["x", "x", "y", "y"] * 3)
    result = average_effects(y, arm, segment=seg, name="visit")
    assert result.kind == "binary" and "Newcombe" in result.method
    table = result.summary().set_index(["segment", "arm"])
    assert table.loc[("all", "a"), "difference"] == pytest.approx(3 / 4 - 1 / 4)
    assert table.loc[("all", "b"), "lift"] == pytest.approx((3 / 4) / (1 / 4) - 1)
    # segment x: control 0, 1 -> 1/2; arm b: 1, 1 -> 1
    assert table.loc[("x", "b"), "difference"] == pytest.approx(0.5)
    assert table.loc[("y", "a"), ["n", "n_control"]].tolist() == [2, 2]
    est = result.estimate("a")
    assert (est.ci_low, est.ci_high) == pytest.approx(newcombe_interval(3, 4, 1, 4))


def test_continuous_outcome_uses_welch() -> None:
    arm = np.array(["control", "control", "control", "t", "t", "t"])
    y = np.array([0.0, 2.0, 4.0, 5.0, 9.0, 1.0])
    result = average_effects(y, arm)
    row = result.table.iloc[0]
    assert result.kind == "continuous" and row["difference"] == pytest.approx(5.0 - 2.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(welch_interval(y[3:], y[:3]))


def test_missing_control_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="control arm 'control' not found"):
        average_effects([1, 0], ["a", "b"])


def test_rmst_matches_lifelines_with_censoring_and_ties() -> None:
    rng = np.random.default_rng(1)
    t, c = rng.exponential(10, 300), rng.exponential(15, 300)
    duration, event = np.round(np.minimum(t, c)), (t <= c).astype(int)
    value, _ = rmst_with_se(duration, event, 12.0)
    expected = restricted_mean_survival_time(KaplanMeierFitter().fit(duration, event), t=12.0)
    assert value == pytest.approx(expected, abs=1e-9)


def test_rmst_without_censoring_is_the_mean_of_truncated_times() -> None:
    # without censoring the KM curve is the empirical one: RMST = mean(min(T, tau)) and its Greenwood
    # variance is the plug-in variance of min(T, tau) over n
    rng = np.random.default_rng(2)
    t = rng.exponential(10, 200)
    value, se = rmst_with_se(t, np.ones(200, int), 12.0)
    truncated = np.minimum(t, 12.0)
    assert value == pytest.approx(truncated.mean(), abs=1e-9)
    assert se**2 == pytest.approx(truncated.var() / 200, rel=1e-9)


def test_rmst_difference_between_arms() -> None:
    duration = np.array([2.0, 4.0, 6.0, 8.0, 3.0, 6.0, 9.0, 12.0])
    event = np.ones(8, int)
    arm = np.array(["control"] * 4 + ["offer"] * 4)
    result = rmst_difference(duration, event, arm, horizon=10.0)
    # control: mean(2, 4, 6, 8) = 5; offer: mean(3, 6, 9, 10) = 7
    row = result.table.iloc[0]
    assert row["difference"] == pytest.approx(2.0)
    assert row["se"] == pytest.approx(np.sqrt(np.var([2, 4, 6, 8]) / 4 + np.var([3, 6, 9, 10]) / 4))
    assert result.estimate("offer").ci_low == pytest.approx(2.0 - 1.959963984540054 * row["se"])
