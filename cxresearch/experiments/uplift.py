"""Per-customer uplift (conditional average treatment effect) from a randomised experiment: a T-learner and a
DR-learner with scikit-learn base learners and K-fold cross-fitting."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold


@dataclass
class FoldModels:
    """The models fitted without one fold: outcome under control (mu0), under treatment (mu1) and, for the
    DR-learner, the final regression of the pseudo-outcomes (None for the T-learner)."""

    mu0: BaseEstimator
    mu1: BaseEstimator
    final: BaseEstimator | None = None


@dataclass
class UpliftModel:
    """A cross-fitted uplift model: out-of-fold predictions for the customers it was fitted on, and `predict`
    for new customers (the mean over the fold models).

    `uplift_` is the predicted effect of treatment per fitted customer in outcome units (a difference in
    probability for a 0/1 outcome); `baseline_` the predicted outcome without treatment; `propensity` the share
    treated used by the DR-learner.
    """

    method: str
    folds: int
    propensity: float
    uplift_: np.ndarray
    baseline_: np.ndarray
    fold_models: list[FoldModels] = field(repr=False)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted uplift (outcome units) of each row of X, averaged over the fold models."""
        X = np.asarray(X, dtype=float)
        if self.fold_models[0].final is not None:
            return np.mean([m.final.predict(X) for m in self.fold_models], axis=0)
        return np.mean([_outcome(m.mu1, X) - _outcome(m.mu0, X) for m in self.fold_models], axis=0)

    def predict_treated(self, X: ArrayLike) -> np.ndarray:
        """Predicted outcome under treatment (outcome units) of each row of X, averaged over the fold models."""
        X = np.asarray(X, dtype=float)
        return np.mean([_outcome(m.mu1, X) for m in self.fold_models], axis=0)

    def predict_baseline(self, X: ArrayLike) -> np.ndarray:
        """Predicted outcome without treatment (outcome units) of each row of X, averaged over the fold models."""
        X = np.asarray(X, dtype=float)
        return np.mean([_outcome(m.mu0, X) for m in self.fold_models], axis=0)

    def summary(self) -> pd.DataFrame:
        """Distribution of the out-of-fold predicted uplift: mean, quartiles, share predicted negative."""
        u = self.uplift_
        return pd.DataFrame([{
            "method": self.method, "n": len(u), "folds": self.folds, "mean_uplift": float(u.mean()),
            "q25": float(np.quantile(u, 0.25)), "median": float(np.median(u)), "q75": float(np.quantile(u, 0.75)),
            "share_negative": float((u < 0).mean()),
        }])

    def _repr_html_(self) -> str:
        return f"<b>{self.method}</b> (cross-fitted, {self.folds} folds)" + self.summary().to_html(index=False)


def default_learner(binary: bool) -> BaseEstimator:
    """Gradient-boosted trees with shallow trees and large leaves: outcome models that rarely overfit noise."""
    options = {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 100,
               "random_state": 0}
    return HistGradientBoostingClassifier(**options) if binary else HistGradientBoostingRegressor(**options)


def design_matrix(covariates: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as floats plus 0/1 dummies of the other columns (first level dropped)."""
    categorical = [c for c in covariates.columns if not pd.api.types.is_numeric_dtype(covariates[c])
                   or pd.api.types.is_bool_dtype(covariates[c])]
    dummies = pd.get_dummies(covariates[categorical].astype(str), drop_first=True, dtype=float)
    return pd.concat([covariates.drop(columns=categorical).astype(float), dummies], axis=1)


def _outcome(model: BaseEstimator, X: np.ndarray) -> np.ndarray:
    """Predicted outcome: P(y = 1) from a classifier, the prediction of a regressor."""
    return model.predict_proba(X)[:, 1] if is_classifier(model) else model.predict(X)


def _inputs(X: ArrayLike, treated: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, treated and y as float, bool and float arrays, checked for matching length and both arms present."""
    X, t, y = np.asarray(X, dtype=float), np.asarray(treated).astype(bool), np.asarray(y, dtype=float)
    if not len(X) == len(t) == len(y):
        raise ValueError(f"X, treated and y differ in length: {len(X)}, {len(t)}, {len(y)}")
    if t.all() or not t.any():
        raise ValueError("uplift needs treated and control customers; only one arm was given")
    return X, t, y


def _cross_fit_outcomes(
    X: np.ndarray, t: np.ndarray, y: np.ndarray, learner: BaseEstimator, folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[FoldModels], list[np.ndarray]]:
    """Out-of-fold mu0 and mu1 per customer, the fold models, and each fold's held-out indices."""
    mu0, mu1 = np.empty(len(y)), np.empty(len(y))
    models, held = [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(X, t):
        fit0 = clone(learner).fit(X[train][~t[train]], y[train][~t[train]])
        fit1 = clone(learner).fit(X[train][t[train]], y[train][t[train]])
        mu0[test], mu1[test] = _outcome(fit0, X[test]), _outcome(fit1, X[test])
        models.append(FoldModels(fit0, fit1))
        held.append(test)
    return mu0, mu1, models, held


def fit_t_learner(
    X: ArrayLike, treated: ArrayLike, y: ArrayLike, *, learner: BaseEstimator | None = None, folds: int = 5,
    seed: int = 0,
) -> UpliftModel:
    """T-learner: separate outcome models for treated and control; uplift = mu1(x) - mu0(x), cross-fitted.

    Parameters
    ----------
    X : array-like
        Pre-assignment covariates, one row per customer (numeric; see `design_matrix`).
    treated : array-like
        True for customers assigned to the treatment arm, False for control.
    y : array-like
        Outcome per customer (0/1 or continuous).
    learner : scikit-learn estimator, optional
        Base learner for both outcome models; a classifier's P(y = 1) is used. Default `default_learner`.
    folds : int
        Number of cross-fitting folds (stratified by arm): each customer's `uplift_` comes from models fitted
        without that customer's fold.
    seed : int
        Seed of the fold split.

    Returns
    -------
    UpliftModel
        Out-of-fold uplift and baseline per customer, and the fold models for `predict`.

    References
    ----------
    Kunzel, S. R., Sekhon, J. S., Bickel, P. J. and Yu, B. (2019). Metalearners for estimating heterogeneous
    treatment effects using machine learning. PNAS 116, 4156-4165.
    """
    X, t, y = _inputs(X, treated, y)
    learner = learner if learner is not None else default_learner(bool(np.isin(y, (0, 1)).all()))
    mu0, mu1, models, _ = _cross_fit_outcomes(X, t, y, learner, folds, seed)
    return UpliftModel("T-learner", folds, float(t.mean()), mu1 - mu0, mu0, models)


def dr_pseudo_outcome(y: np.ndarray, t: np.ndarray, mu0: np.ndarray, mu1: np.ndarray, e: float) -> np.ndarray:
    """Doubly robust (AIPW) score mu1 - mu0 + t (y - mu1) / e - (1 - t) (y - mu0) / (1 - e), outcome units."""
    return mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)


def fit_dr_learner(
    X: ArrayLike, treated: ArrayLike, y: ArrayLike, *, learner: BaseEstimator | None = None,
    final: BaseEstimator | None = None, folds: int = 5, seed: int = 0, propensity: float | None = None,
) -> UpliftModel:
    """DR-learner: regress cross-fitted doubly robust pseudo-outcomes on the covariates.

    Stage 1 fits mu0 and mu1 as the T-learner does, out of fold. Stage 2 computes for each customer the AIPW
    pseudo-outcome phi = mu1 - mu0 + T (Y - mu1) / e - (1 - T) (Y - mu0) / (1 - e), whose expectation given x is
    the uplift whenever either the outcome models or the propensity e are right (in a randomised experiment e is
    known), and regresses phi on X, again out of fold.

    Parameters
    ----------
    X, treated, y : array-like
        Covariates, treatment indicator and outcome, as for `fit_t_learner`.
    learner : scikit-learn estimator, optional
        Base learner of the outcome models (default `default_learner`).
    final : scikit-learn regressor, optional
        Model of the pseudo-outcomes (default gradient-boosted regression trees with large leaves).
    folds : int
        Number of cross-fitting folds, stratified by arm.
    seed : int
        Seed of the fold split.
    propensity : float, optional
        Probability of assignment to treatment by design; the share treated in the data when omitted.

    Returns
    -------
    UpliftModel
        Out-of-fold uplift (final-stage predictions) and baseline per customer, and the fold models.

    References
    ----------
    Kennedy, E. H. (2023). Towards optimal doubly robust estimation of heterogeneous causal effects. Electronic
    Journal of Statistics 17, 3008-3049.
    """
    X, t, y = _inputs(X, treated, y)
    learner = learner if learner is not None else default_learner(bool(np.isin(y, (0, 1)).all()))
    final = final if final is not None else default_learner(False)
    e = float(t.mean()) if propensity is None else float(propensity)
    mu0, mu1, models, held = _cross_fit_outcomes(X, t, y, learner, folds, seed)
    phi = dr_pseudo_outcome(y, t, mu0, mu1, e)
    uplift = np.empty(len(y))
    for fold, test in zip(models, held):
        train = np.setdiff1d(np.arange(len(y)), test)
        fold.final = clone(final).fit(X[train], phi[train])
        uplift[test] = fold.final.predict(X[test])
    return UpliftModel("DR-learner", folds, e, uplift, mu0, models)
