"""Uplift learners recover a known effect: exactly when the base learners are the true (linear) model, closely
on noisy data with a non-linear effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression

from cxresearch.experiments.uplift import design_matrix, dr_pseudo_outcome, fit_dr_learner, fit_t_learner


def _linear_world(n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free outcomes y = x0 + x2 / 2 + tau(x) T with tau(x) = 1 + 2 x1."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    t = rng.random(n) < 0.4
    tau = 1 + 2 * X[:, 1]
    return X, t, X[:, 0] + 0.5 * X[:, 2] + tau * t, tau


def test_t_learner_is_exact_with_the_true_model() -> None:
    X, t, y, tau = _linear_world()
    model = fit_t_learner(X, t, y, learner=LinearRegression(), folds=3)
    np.testing.assert_allclose(model.uplift_, tau, atol=1e-9)
    np.testing.assert_allclose(model.predict(X[:5]), tau[:5], atol=1e-9)
    np.testing.assert_allclose(model.baseline_, X[:, 0] + 0.5 * X[:, 2], atol=1e-9)


def test_dr_learner_is_exact_with_the_true_model() -> None:
    X, t, y, tau = _linear_world()
    model = fit_dr_learner(X, t, y, learner=LinearRegression(), final=LinearRegression(), folds=3)
    assert model.propensity == pytest.approx(t.mean())
    np.testing.assert_allclose(model.uplift_, tau, atol=1e-9)


def test_pseudo_outcome_by_hand() -> None:
    # treated, y = 1, mu1 = 0.6, mu0 = 0.2, e = 0.5: 0.4 + (1 - 0.6) / 0.5 = 1.2
    # control, y = 1, mu1 = 0.6, mu0 = 0.2: 0.4 - (1 - 0.2) / 0.5 = -1.2
    y, t, mu0, mu1 = np.array([1.0, 1.0]), np.array([1, 0]), np.array([0.2, 0.2]), np.array([0.6, 0.6])
    phi = dr_pseudo_outcome(y, t, mu0, mu1, 0.5)
    np.testing.assert_allclose(phi, [1.2, -1.2])


def test_learners_find_a_nonlinear_effect_in_noisy_binary_outcomes() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    X = rng.normal(size=(n, 4))
    t = rng.random(n) < 0.5
    tau = 0.15 * np.tanh(2 * X[:, 1])
    y = (rng.random(n) < 0.3 + 0.1 * np.tanh(X[:, 0]) + tau * t).astype(float)
    learner = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=50)
    for fit in (fit_t_learner, fit_dr_learner):
        model = fit(X, t, y, learner=learner, folds=3)
        assert np.corrcoef(model.uplift_, tau)[0, 1] > 0.5
        assert abs(model.uplift_.mean() - tau.mean()) < 0.03


def test_design_matrix_codes_categories() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "plan": ["a", "b", "c"], "vip": [True, False, True]})
    design = design_matrix(frame)
    assert list(design.columns) == ["x", "plan_b", "plan_c", "vip_True"]
    assert design["plan_c"].tolist() == [0.0, 0.0, 1.0]


def test_one_arm_only_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="only one arm"):
        fit_t_learner(np.zeros((4, 1)), [True] * 4, [0, 1, 0, 1])
