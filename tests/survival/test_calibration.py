"""Calibration by risk decile: the true model of simulated left-truncated Weibull PH data is calibrated, a wrong
one is not, and the observed survival equals lifelines' Kaplan-Meier with delayed entry."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from cxresearch.survival.calibration import calibration_at, observed_survival

SHAPE, SCALE = 1.5, 15.0  # Weibull baseline, months


def _weibull_ph(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weibull PH lifetimes (months; hazard ratio e per unit x) of customers acquired over 60 months before a
    24-month window, seen only if still active when it opens (entry = tenure then)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=8 * n)
    lifetime = SCALE * (rng.exponential(size=8 * n) / np.exp(x)) ** (1 / SHAPE)
    acquired = rng.uniform(-60.0, 24.0, size=8 * n)
    seen = np.flatnonzero(acquired + lifetime > 0)[:n]
    entry = np.maximum(0.0, -acquired[seen])
    end = 24.0 - acquired[seen]
    return np.minimum(lifetime[seen], end), lifetime[seen] <= end, x[seen], entry


def _survival(x: np.ndarray, t: float, beta: float = 1.0) -> np.ndarray:
    """Weibull PH survival at t months with log hazard ratio `beta` per unit x."""
    return np.exp(-((t / SCALE) ** SHAPE) * np.exp(beta * x))


def test_true_model_is_calibrated_and_a_wrong_one_is_not() -> None:
    time, event, x, entry = _weibull_ph(8000, 1)
    assert (entry > 0).mean() > 0.3
    true = calibration_at(time, event, entry, _survival(x, 12.0), 12.0, model="true")
    assert true.share_within_ci >= 0.8
    assert true.table["n"].sum() + true.n_excluded == time.size
    wrong = calibration_at(time, event, entry, _survival(x, 12.0, beta=2.5), 12.0)
    assert wrong.share_within_ci <= 0.5


def test_observed_survival_equals_lifelines_with_delayed_entry() -> None:
    rng = np.random.default_rng(0)
    time = np.ceil(rng.exponential(10, 400))
    event = rng.uniform(size=400) < 0.7
    entry = np.floor(rng.uniform(0, 5, 400))
    keep = entry < time
    time, event, entry = time[keep], event[keep], entry[keep]
    kmf = KaplanMeierFitter().fit(time, event, entry=entry)
    observed, low, high = observed_survival(time, event, entry, 6.0)
    assert observed == pytest.approx(float(kmf.survival_function_at_times(6.0).iloc[0]), abs=1e-12)
    np.testing.assert_allclose([low, high], kmf.confidence_interval_.loc[6.0].to_numpy(), atol=1e-9)
