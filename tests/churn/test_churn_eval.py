"""Tests for cxresearch.churn.evaluation: EMPC against hand-computed cases, bootstrap metrics, calibration, lift,
out-of-time design and the model comparison on a simulated world."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats
from sklearn.metrics import average_precision_score, roc_auc_score

from cxresearch.churn.boosting import min_leaf
from cxresearch.churn.empc import CampaignParameters, class_balance, empc
from cxresearch.churn.evaluation import (
    BOOSTING,
    LOGIT,
    _RankedScores,
    calibration_intercept_slope,
    compare_models,
    cross_validate,
    cross_validated_evaluation,
    evaluate_predictions,
    judge_models,
)
from cxresearch.churn.logit import fit_churn_logit
from cxresearch.churn.windows import fit_windows, months_between, out_of_time_snapshots
from cxresearch.data.simulate import simulate
from cxresearch.features.snapshot import snapshot as make_snapshot


def test_empc_perfect_classifier_closed_form() -> None:
    # Perfect ranking: target exactly the churners when gamma (1 - delta) > phi. With gamma ~ U(0, 1):
    # EMPC = CLV pi0 * integral_{g*}^1 (g (1 - delta) - phi) dg, g* = phi / (1 - delta).
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    prob = np.array([0.9, 0.8, 0.3, 0.2, 0.7, 0.1, 0.05, 0.0])
    p = CampaignParameters(clv=200, incentive=10, contact=1, alpha=1, beta=1)
    delta, phi, pi0 = 10 / 200, 1 / 200, 3 / 8
    g = phi / (1 - delta)
    expected = 200 * pi0 * ((1 - delta) / 2 * (1 - g**2) - phi * (1 - g))
    result = empc(y, prob, p)
    assert result.empc == pytest.approx(expected, rel=1e-10)
    assert result.fraction == pytest.approx(pi0 * (1 - g))


def test_empc_hand_computed_two_segment_case() -> None:
    # ROC points (fpr, tpr): (0,0) (0,.5) (.5,.5) (.5,1) (1,1); hull (0,0) (0,.5) (.5,1) (1,1).
    # CLV 100, d 10, f 5, gamma ~ U(0,1): vertex profits/CLV 0.225 g - 0.0125 and 0.45 g - 0.0625, switching
    # at g = 1/18 and 2/9; (1,1) never pays. EMPC = 100 (1/320 + 0.225 * 77/81 - 0.0625 * 7/9) = 16.8403.
    y = np.array([1, 0, 1, 0])
    prob = np.array([0.9, 0.8, 0.7, 0.1])
    result = empc(y, prob, CampaignParameters(clv=100, incentive=10, contact=5, alpha=1, beta=1))
    assert result.empc == pytest.approx(100 * (1 / 320 + 0.225 * 77 / 81 - 0.0625 * 7 / 9), rel=1e-10)
    assert result.empc == pytest.approx(16.840278, abs=1e-6)
    assert result.fraction == pytest.approx((2 / 9 - 1 / 18) * 0.25 + (7 / 9) * 0.75)


def test_empc_equals_brute_force_integration() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(400) < 0.2).astype(int)
    prob = np.round(special.expit(-1.5 + 1.2 * y + rng.normal(0, 1, 400)), 2)  # ties included
    p = CampaignParameters()  # the paper's defaults: CLV 200, d 10, f 1, Beta(6, 14)
    order = np.argsort(-prob, kind="stable")
    thresholds = np.r_[np.inf, np.unique(prob)[::-1]]
    targeted_churners = np.array([(y * (prob >= t)).sum() for t in thresholds])
    targeted = np.array([(prob >= t).sum() for t in thresholds])
    gammas = np.linspace(0, 1, 20001)[1:-1]
    profit = ((gammas[:, None] * (p.clv - p.incentive) - p.contact) * targeted_churners
              - (p.incentive + p.contact) * (targeted - targeted_churners)) / len(y)
    brute = np.trapezoid(profit.max(axis=1) * stats.beta.pdf(gammas, p.alpha, p.beta), gammas)
    result = empc(y, prob, p)
    assert result.empc == pytest.approx(brute, rel=1e-4)
    assert result.empc >= result.curve["profit"].max() - 1e-12  # choosing per gamma beats one fixed share
    assert len(order) == len(result.curve) - 1


def test_campaign_parameters_validated() -> None:
    with pytest.raises(ValueError):
        CampaignParameters(clv=10, incentive=20)
    with pytest.raises(ValueError):
        CampaignParameters(alpha=0)


def test_ranked_scores_match_scikit_learn_with_weights() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.1).astype(int)
    score = np.round(rng.random(3000) + 0.3 * y, 2)
    weights = np.bincount(rng.integers(0, 3000, 3000), minlength=3000).astype(float)
    auc, ap = _RankedScores(y, score).metrics(weights)
    assert auc == pytest.approx(roc_auc_score(y, score, sample_weight=weights), abs=1e-12)
    assert ap == pytest.approx(average_precision_score(y, score, sample_weight=weights), abs=1e-12)


@pytest.fixture(scope="module")
def oracle() -> tuple[np.ndarray, np.ndarray, float]:
    """Outcomes drawn from known probabilities (a perfectly calibrated model), and its population AUC."""
    rng = np.random.default_rng(1)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        prob = special.expit(-3.0 + 0.9 * rng.normal(size=n))
        return (rng.random(n) < prob).astype(int), prob

    y_big, p_big = draw(400_000)
    y, prob = draw(8_000)
    return y, prob, float(roc_auc_score(y_big, p_big))


def test_evaluation_of_a_calibrated_model(oracle: tuple[np.ndarray, np.ndarray, float]) -> None:
    y, prob, population_auc = oracle
    overconfident = special.expit(2.0 * special.logit(prob) + 3.0)  # slope 0.5 in truth
    ev = evaluate_predictions(y, {"oracle": prob, "overconfident": overconfident}, "test", n_boot=300)
    row = ev.summary().loc["oracle"]
    assert row.roc_auc_low < population_auc < row.roc_auc_high
    assert row.pr_auc_low < row.pr_auc < row.pr_auc_high
    assert abs(row.calibration_slope - 1) < 0.15 and abs(row.calibration_intercept) < 0.15
    assert row.ece < 0.01
    assert ev.summary().loc["overconfident", "calibration_slope"] == pytest.approx(0.5, abs=0.08)
    # Same ranking, so the same AUC, and a paired bootstrap difference of exactly 0.
    diff = ev.difference.set_index("metric").loc["roc_auc"]
    assert diff.difference == pytest.approx(0, abs=1e-12) and diff.ci_low == pytest.approx(0, abs=1e-12)
    estimates = ev.to_estimates("h")
    assert estimates["h_roc_auc_oracle"].ci_low == pytest.approx(row.roc_auc_low)
    cal = ev.calibration("oracle")
    assert cal["n"].sum() == len(y)
    assert ((cal["observed_low"] <= cal["predicted"]) & (cal["predicted"] <= cal["observed_high"])).mean() >= 0.8


def test_gains_and_class_balance(oracle: tuple[np.ndarray, np.ndarray, float]) -> None:
    y, prob, _ = oracle
    gains = evaluate_predictions(y, {"m": prob}, "test", n_boot=10).gains("m")
    assert len(gains) == 10 and gains["customers"].sum() == len(y) and gains["churners"].sum() == y.sum()
    assert gains["cum_churners_pct"].iloc[-1] == pytest.approx(100)
    assert gains["lift"].iloc[0] > 2 > gains["lift"].iloc[-1]
    assert gains["cum_lift"].iloc[-1] == pytest.approx(1)
    balance = class_balance(y)
    assert balance["accuracy_of_no_churn"] == pytest.approx(1 - y.mean())
    with pytest.raises(ValueError, match="same outcome"):
        evaluate_predictions(np.zeros(10), {"m": np.linspace(0, 1, 10)}, "test")


@pytest.fixture(scope="module")
def world_snapshots() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = simulate(n_customers=12_000, months=24, seed=4).to_cxdata()
    return out_of_time_snapshots(data, None)


def test_out_of_time_design_has_no_overlap(world_snapshots: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = world_snapshots
    train_as_of, test_as_of = pd.Timestamp(train.attrs["as_of"]), pd.Timestamp(test.attrs["as_of"])
    assert train_as_of + pd.DateOffset(months=3) == test_as_of
    assert train["active"].all() and test["active"].all()
    # Every training label is settled by the test as_of: no churn in the training window happens later.
    assert (train.loc[train["churned"], "end_date"] < test_as_of).all()


def test_models_compared_out_of_time_and_cross_validated(world_snapshots: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = world_snapshots
    ev, boosting = compare_models(train, test, "out-of-time", n_boot=50)
    metrics = ev.summary()
    assert set(metrics.index) == {LOGIT, BOOSTING}
    assert (metrics["roc_auc"] > 0.62).all()
    assert (metrics["pr_auc"] > 1.5 * ev.event_rate).all()
    # Without resampling or class weights, predicted churn matches observed churn on average.
    assert (metrics["mean_predicted"] - metrics["observed"]).abs().max() < 0.02
    assert 0.6 < metrics.loc[BOOSTING, "calibration_slope"] < 1.4
    assert boosting.predict_proba(test) == pytest.approx(ev.predictions[BOOSTING])
    cv = cross_validate(test, folds=3)
    assert set(cv.index) == {LOGIT, BOOSTING}
    assert (cv[("roc_auc", "mean")] > 0.6).all()


def test_cross_validated_evaluation_is_labelled_and_out_of_fold(world_snapshots: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Without an earlier snapshot the models are judged on out-of-fold predictions, and the label says so."""
    _, test = world_snapshots
    ev, boosting = cross_validated_evaluation(test, folds=3, n_boot=20)
    assert ev.design.startswith("cross-validated (3-fold") and "out of time" not in ev.design
    assert ev.comparison_finding().startswith("Cross-validated (3-fold")
    assert np.array_equal(ev.y, test["churned"].astype(int).to_numpy())
    cv = cross_validate(test, folds=3)
    # pooled out-of-fold AUC vs the mean of the per-fold AUCs (same predictions): within a fold's SD
    assert ev.metrics.loc[LOGIT, "roc_auc"] == pytest.approx(cv.loc[LOGIT, ("roc_auc", "mean")],
                                                             abs=cv.loc[LOGIT, ("roc_auc", "std")] + 1e-3)
    in_sample = fit_churn_logit(test).auc.value
    assert ev.metrics.loc[LOGIT, "roc_auc"] < in_sample  # out of fold is not the optimistic in-sample AUC
    assert set(boosting.features) <= set(test.columns)


def test_leaking_column_enters_no_cross_validation_fold(world_snapshots: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, test = world_snapshots
    leaky = test.assign(status_score=test["churned"].astype(float) + np.random.default_rng(0).normal(0, 0.3, len(test)))
    ev, boosting = cross_validated_evaluation(leaky, folds=3, n_boot=10, exclude=["status_score"])
    assert "status_score" not in boosting.columns
    honest, _ = cross_validated_evaluation(test, folds=3, n_boot=10)
    assert ev.metrics.loc[BOOSTING, "roc_auc"] == pytest.approx(honest.metrics.loc[BOOSTING, "roc_auc"], abs=1e-12)


def test_no_out_of_time_holdout_on_flat_or_short_data() -> None:
    short = simulate(n_customers=2000, months=6, seed=1).to_cxdata()
    with pytest.raises(ValueError, match="before observation began"):
        out_of_time_snapshots(short, None)  # needs 3 + 2 x 3 months, the data has 6
    flat = dataclasses.replace(short, shape="flat")
    with pytest.raises(ValueError, match="flat data describes one date only"):
        out_of_time_snapshots(flat, None)


def test_models_are_judged_out_of_time_only_where_the_history_allows() -> None:
    """Six months hold no earlier snapshot (3 + 2 x 3 months needed): cross-validated, labelled so, and the
    holdout's skip names the missing input; twelve months allow the out-of-time holdout."""
    for months, design in ((6, "cross-validated (5-fold"), (12, "out-of-time holdout")):
        data = simulate(n_customers=3000, months=months, seed=2).to_cxdata()
        snap = make_snapshot(data)
        active = snap[snap["active"]].reset_index(drop=True)
        judged = judge_models(data, snap, active, "", 3, 3, n_boot=10)
        assert judged.evaluation.design.startswith(design)
        if months == 6:
            assert [(a, n) for a, _, n in judged.skipped] == [("out-of-time holdout", "more history")]
            assert judged.train is None and judged.samples() == []
            assert np.array_equal(judged.evaluation.y, active["churned"].astype(int).to_numpy())
        else:
            assert judged.skipped == [] and len(judged.test.frame) == len(active)


def test_windows_fit_the_observed_history() -> None:
    assert months_between(pd.Timestamp("2023-01-01"), pd.Timestamp("2023-07-01")) == 6
    assert months_between(pd.Timestamp("2023-01-15"), pd.Timestamp("2023-07-14")) == 5
    six = simulate(n_customers=500, months=6, seed=1).to_cxdata()
    assert (fit_windows(six, 3, 3).window_months, fit_windows(six, 3, 3).horizon_months) == (3, 3)
    chosen = fit_windows(six, 6, 3)  # 9 months asked of 6: horizon 3 (half), window the other 3
    assert (chosen.window_months, chosen.horizon_months, chosen.observed_months) == (3, 3, 6)
    assert "covers 6 months" in chosen.note and chosen.adapted
    short = dataclasses.replace(six, observed_until=six.observed_until - pd.DateOffset(months=5))
    with pytest.raises(ValueError, match="only 1 whole month"):
        fit_windows(short, 3, 3)
    two = dataclasses.replace(six, observed_until=six.observed_until - pd.DateOffset(months=4))
    assert (fit_windows(two, 3, 3).window_months, fit_windows(two, 3, 3).horizon_months) == (1, 1)


def test_flat_data_horizon_is_the_churn_flags_period() -> None:
    six = simulate(n_customers=500, months=6, seed=1).to_cxdata()
    monthly = dataclasses.replace(six, shape="flat", metadata={"churn_period_months": 1})
    chosen = fit_windows(monthly, 3, 3)
    assert chosen.horizon_months == 1.0 and chosen.horizon_words == "within the next 1 month"
    assert "churn flag covers 1 month (the data's stated churn period)" in chosen.note and "not the 3-month" in chosen.note
    assert fit_windows(dataclasses.replace(monthly, metadata={"churn_period_months": 3}), 3, 3).note == ""
    unknown = fit_windows(dataclasses.replace(monthly, metadata={}), 3, 3)
    assert unknown.horizon_months is None and "not documented" in unknown.horizon_words


def test_small_data_boosting_can_split_and_constant_predictions_have_no_slope() -> None:
    assert (min_leaf(20_000), min_leaf(400), min_leaf(100)) == (200, 20, 10)
    y = np.array([0, 1, 0, 0, 1, 0, 0, 0])
    intercept, slope = calibration_intercept_slope(y, np.full(8, 0.25))
    assert intercept == pytest.approx(0.0, abs=1e-9) and np.isnan(slope)  # 2 of 8 churned = predicted 0.25
