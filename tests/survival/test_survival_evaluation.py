"""Lifetime-model metrics: scikit-survival's numbers untruncated, simulation truth truncated, C by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cxresearch.survival.evaluation import (
    ObservedLifetimes,
    brier_score,
    concordance_harrell,
    concordance_uno,
    cumulative_dynamic_auc,
    integrated_brier_score,
    kaplan_meier_step,
)

sksurv_metrics = pytest.importorskip("sksurv.metrics")
from sksurv.util import Surv

HORIZONS = np.array([3.0, 6.0, 9.0, 12.0])


def _lifetimes(n: int, seed: int, whole_months: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponential lifetimes (months) with hazard exp(risk)/12, censored uniformly over 30 months."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    if whole_months:
        # Coarse scores and whole months make ties in risk and in time, to pin the tie conventions down.
        risk = np.round(risk, 1)
    lifetime = rng.exponential(12.0 / np.exp(risk))
    censor = rng.uniform(0.0, 30.0, size=n)
    time = np.minimum(lifetime, censor)
    if whole_months:
        time = np.ceil(time)
    return time, lifetime <= censor, risk


@pytest.fixture(params=[False, True], ids=["continuous", "whole_months"])
def split(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
    """A training set of 600 and a test set of 300 lifetimes, with the test set inside the training range."""
    train_time, train_event, _ = _lifetimes(600, 1, request.param)
    test_time, test_event, risk = _lifetimes(300, 2, request.param)
    inside = test_time < train_time.max()
    return {
        "train_time": train_time,
        "train_event": train_event,
        "test_time": test_time[inside],
        "test_event": test_event[inside],
        "risk": risk[inside],
    }


def _survival_at(risk: np.ndarray, times: np.ndarray) -> np.ndarray:
    """True exponential S(t) of the simulation for each customer (rows) and horizon (columns)."""
    return np.exp(-np.exp(risk)[:, None] * times[None, :] / 12.0)


def test_harrell_matches_scikit_survival(split: dict[str, np.ndarray]) -> None:
    ours = concordance_harrell(ObservedLifetimes(split["test_time"], split["test_event"]), split["risk"])
    theirs = sksurv_metrics.concordance_index_censored(split["test_event"], split["test_time"], split["risk"])
    assert ours.value == pytest.approx(theirs[0], abs=1e-6)
    assert (ours.concordant, ours.discordant, ours.tied_risk, ours.tied_time) == tuple(theirs[1:])


@pytest.mark.parametrize("tau", [None, 12.0, 20.0])
def test_uno_matches_scikit_survival(split: dict[str, np.ndarray], tau: float | None) -> None:
    ours = concordance_uno(
        ObservedLifetimes(split["test_time"], split["test_event"]),
        split["risk"],
        tau,
        train=ObservedLifetimes(split["train_time"], split["train_event"]),
    )
    theirs = sksurv_metrics.concordance_index_ipcw(
        Surv.from_arrays(split["train_event"], split["train_time"]),
        Surv.from_arrays(split["test_event"], split["test_time"]),
        split["risk"],
        tau=tau,
    )
    assert ours.value == pytest.approx(theirs[0], abs=1e-6)


def test_uno_without_training_data_uses_the_evaluated_lifetimes(split: dict[str, np.ndarray]) -> None:
    y = Surv.from_arrays(split["test_event"], split["test_time"])
    theirs = sksurv_metrics.concordance_index_ipcw(y, y, split["risk"], tau=12.0)
    ours = concordance_uno(ObservedLifetimes(split["test_time"], split["test_event"]), split["risk"], 12.0)
    assert ours.value == pytest.approx(theirs[0], abs=1e-6)


def test_cumulative_dynamic_auc_matches_scikit_survival(split: dict[str, np.ndarray]) -> None:
    lifetimes = ObservedLifetimes(split["test_time"], split["test_event"])
    training = ObservedLifetimes(split["train_time"], split["train_event"])
    train = Surv.from_arrays(split["train_event"], split["train_time"])
    test = Surv.from_arrays(split["test_event"], split["test_time"])
    ours = cumulative_dynamic_auc(lifetimes, split["risk"], HORIZONS, training)
    auc, mean_auc = sksurv_metrics.cumulative_dynamic_auc(train, test, split["risk"], HORIZONS)
    np.testing.assert_allclose(ours.auc, auc, atol=1e-6)
    assert ours.mean_auc == pytest.approx(mean_auc, abs=1e-6)
    # Time-dependent scores (one column per horizon) and a single horizon.
    varying = split["risk"][:, None] * np.linspace(1.0, 0.5, HORIZONS.size)[None, :] + 0.1 * HORIZONS[None, :]
    ours = cumulative_dynamic_auc(lifetimes, varying, HORIZONS, training)
    auc, mean_auc = sksurv_metrics.cumulative_dynamic_auc(train, test, varying, HORIZONS)
    np.testing.assert_allclose(ours.auc, auc, atol=1e-6)
    assert ours.mean_auc == pytest.approx(mean_auc, abs=1e-6)
    one = cumulative_dynamic_auc(lifetimes, split["risk"], 6.0, training)
    theirs_one = sksurv_metrics.cumulative_dynamic_auc(train, test, split["risk"], 6.0)
    assert one.mean_auc == pytest.approx(theirs_one[1], abs=1e-6)


def test_brier_scores_match_scikit_survival(split: dict[str, np.ndarray]) -> None:
    lifetimes = ObservedLifetimes(split["test_time"], split["test_event"])
    training = ObservedLifetimes(split["train_time"], split["train_event"])
    train = Surv.from_arrays(split["train_event"], split["train_time"])
    test = Surv.from_arrays(split["test_event"], split["test_time"])
    predicted = _survival_at(split["risk"], HORIZONS)
    ours = brier_score(lifetimes, predicted, HORIZONS, training)
    times, scores = sksurv_metrics.brier_score(train, test, predicted, HORIZONS)
    np.testing.assert_array_equal(ours.times, times)
    np.testing.assert_allclose(ours.scores, scores, atol=1e-6)
    one = brier_score(lifetimes, predicted[:, 1], 6.0, training)
    assert one.scores[0] == pytest.approx(
        sksurv_metrics.brier_score(train, test, predicted[:, 1], 6.0)[1][0], abs=1e-6
    )
    grid = np.arange(1.0, 19.0)
    dense = _survival_at(split["risk"], grid)
    assert integrated_brier_score(lifetimes, dense, grid, training) == pytest.approx(
        sksurv_metrics.integrated_brier_score(train, test, dense, grid), abs=1e-6
    )


def test_reverse_kaplan_meier_matches_scikit_survival(split: dict[str, np.ndarray]) -> None:
    from sksurv.nonparametric import kaplan_meier_estimator

    times, theirs = kaplan_meier_estimator(split["train_event"], split["train_time"], reverse=True)
    ours = kaplan_meier_step(split["train_time"], split["train_event"], reverse=True)
    np.testing.assert_array_equal(ours.times, times)
    np.testing.assert_allclose(ours.survival, theirs, atol=1e-12)


def test_harrell_by_hand() -> None:
    # Lifetimes (months) 2*, 3, 3*, 5*, 6 (* = churned); risks 0.9, 0.5, 0.7, 0.7, 0.1.
    # Comparable pairs (shorter lifetime churned, an event beats a censoring at the same time):
    #   2* with 3, 3*, 5*, 6: risk 0.9 above 0.5, 0.7, 0.7, 0.1 -> 4 concordant
    #   3* with 3 (censored the same month), 5*, 6: 0.7 > 0.5 concordant, 0.7 = 0.7 tied, 0.7 > 0.1 concordant
    #   5* with 6: 0.7 > 0.1 concordant
    # 8 pairs: 7 concordant, 1 tied in risk -> C = (7 + 0.5) / 8 = 0.9375; one pair tied in time (3* with 3).
    c = concordance_harrell(
        ObservedLifetimes(np.array([2.0, 3.0, 3.0, 5.0, 6.0]), np.array([True, False, True, True, False])),
        np.array([0.9, 0.5, 0.7, 0.7, 0.1]),
    )
    assert c.value == pytest.approx(0.9375)
    assert (c.concordant, c.discordant, c.tied_risk, c.tied_time) == (7, 0, 1, 1)


def test_all_censored_lifetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="censored"):
        concordance_harrell(ObservedLifetimes(np.array([1.0, 2.0]), np.array([False, False])), np.array([0.1, 0.2]))


def test_entry_at_zero_reduces_to_the_ipcw_formulas() -> None:
    # Without tied times S(T-) / Y(T) = 1 / (n G(T)), so entry = 0 must give scikit-survival's numbers
    # (G estimated from the evaluated lifetimes themselves).
    time, event, risk = _lifetimes(400, 3, whole_months=False)
    zero = np.zeros(time.size)
    y = Surv.from_arrays(event, time)
    truncated, plain = ObservedLifetimes(time, event, zero), ObservedLifetimes(time, event)
    assert concordance_harrell(truncated, risk) == concordance_harrell(plain, risk)
    assert concordance_uno(truncated, risk, 12.0).value == pytest.approx(
        sksurv_metrics.concordance_index_ipcw(y, y, risk, tau=12.0)[0], abs=1e-6
    )
    auc = cumulative_dynamic_auc(truncated, risk, HORIZONS)
    theirs = sksurv_metrics.cumulative_dynamic_auc(y, y, risk, HORIZONS)
    np.testing.assert_allclose(auc.auc, theirs[0], atol=1e-6)
    assert auc.mean_auc == pytest.approx(theirs[1], abs=1e-6)
    predicted = _survival_at(risk, HORIZONS)
    brier = brier_score(truncated, predicted, HORIZONS)
    theirs_brier = sksurv_metrics.brier_score(y, y, predicted, HORIZONS)[1]
    np.testing.assert_allclose(brier.scores, theirs_brier, atol=1e-6)


# Population truth of the simulation below: risk x ~ N(0, 1), hazard exp(x) / 12 per month, by quadrature.
_X = np.linspace(-6.0, 6.0, 1201)
_P = np.exp(-0.5 * _X**2) / np.exp(-0.5 * _X**2).sum()
_RATE = np.exp(_X) / 12.0


def _true_uno(tau: float) -> float:
    """P(x_i > x_j | T_i < T_j, T_i < tau) for exponential lifetimes (months)."""
    rate_i, rate_j = _RATE[:, None], _RATE[None, :]
    pair = rate_i / (rate_i + rate_j) * (1.0 - np.exp(-(rate_i + rate_j) * tau)) * _P[:, None] * _P[None, :]
    return float((pair * (_X[:, None] > _X[None, :])).sum() / pair.sum())


def _true_auc(t: float) -> float:
    """P(x_i > x_j | T_i <= t < T_j) (months)."""
    churned = 1.0 - np.exp(-_RATE * t)
    pair = (churned * _P)[:, None] * ((1.0 - churned) * _P)[None, :]
    return float((pair * (_X[:, None] > _X[None, :])).sum() / pair.sum())


def _true_brier(t: float) -> float:
    """Brier score at t (months) of the true survival probabilities: E[S_x(t) (1 - S_x(t))]."""
    survival = np.exp(-_RATE * t)
    return float((_P * survival * (1.0 - survival)).sum())


def _left_truncated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Customers acquired over 60 months before a 24-month window; seen only if still active when it opens."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=8 * n)
    lifetime = rng.exponential(12.0 / np.exp(risk))
    acquired = rng.uniform(-60.0, 24.0, size=8 * n)
    seen = np.flatnonzero(acquired + lifetime > 0)[:n]
    risk, lifetime, acquired = risk[seen], lifetime[seen], acquired[seen]
    entry = np.maximum(0.0, -acquired)
    end = 24.0 - acquired
    return np.minimum(lifetime, end), lifetime <= end, risk, entry


def test_left_truncated_metrics_recover_the_simulation_truth() -> None:
    time, event, risk, entry = _left_truncated(3000, 1)
    assert (entry > 0).mean() > 0.3  # a customer base mostly seen mid-life, as in the data this is for
    horizons = np.array([3.0, 6.0])
    predicted = _survival_at(risk, horizons)
    aware = {
        "uno": [concordance_uno(ObservedLifetimes(time, event, entry), risk, 12.0).value],
        "auc": cumulative_dynamic_auc(ObservedLifetimes(time, event, entry), risk, horizons).auc,
        "brier": brier_score(ObservedLifetimes(time, event, entry), predicted, horizons).scores,
    }
    naive = {
        "uno": [concordance_uno(ObservedLifetimes(time, event), risk, 12.0).value],
        "auc": cumulative_dynamic_auc(ObservedLifetimes(time, event), risk, horizons).auc,
        "brier": brier_score(ObservedLifetimes(time, event), predicted, horizons).scores,
    }
    truth = {
        "uno": [_true_uno(12.0)],
        "auc": [_true_auc(t) for t in horizons],
        "brier": [_true_brier(t) for t in horizons],
    }
    for metric, true_values in truth.items():
        # Seed 1 errors: truncation-aware <= 0.016, untruncated formulas >= 0.036.
        np.testing.assert_allclose(aware[metric], true_values, atol=0.02, err_msg=metric)
        assert (np.abs(np.asarray(naive[metric]) - true_values) > 0.03).all(), metric


def test_entry_refuses_training_lifetimes_and_impossible_entries() -> None:
    time, event, risk = _lifetimes(50, 4, whole_months=False)
    with pytest.raises(ValueError, match="train=None"):
        concordance_uno(ObservedLifetimes(time, event, np.zeros(50)), risk, 12.0, train=ObservedLifetimes(time, event))
    with pytest.raises(ValueError, match="entry < time"):
        ObservedLifetimes(time, event, time + 1.0)


def test_harrell_with_entry_by_hand() -> None:
    # The hand case above, but the customer lasting 6 months came under observation at month 4: it was not
    # seen when the 2* and 3* customers churned, so those two pairs drop. 6 pairs: 5 concordant, 1 tied.
    c = concordance_harrell(
        ObservedLifetimes(np.array([2.0, 3.0, 3.0, 5.0, 6.0]), np.array([True, False, True, True, False]),
                          entry=np.array([0.0, 0.0, 0.0, 0.0, 4.0])),
        np.array([0.9, 0.5, 0.7, 0.7, 0.1]),
    )
    assert c.value == pytest.approx(5.5 / 6)
    assert (c.concordant, c.discordant, c.tied_risk, c.tied_time) == (5, 0, 1, 1)
