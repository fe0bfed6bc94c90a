"""Lifetime models fitted on one set of customers and predicting survival for another, for the model comparison.

Every model returns `survival.scoring.ModelPredictions`: a risk score per customer and the predicted probability
of still being a customer at each whole month of tenure in a grid (months since sign-up, unconditional on the
entry). Customer-level models (Kaplan-Meier, Cox, AFT) are fitted on lifetimes with delayed entry; person-month
models (the cloglog grouped-time model and gradient boosting) on one row per customer and month at risk, and
predict with each customer's drivers held at their last known value. The risk score of a model whose hazard ratios
change with time (AFT shapes, boosting) is the predicted cumulative hazard at the last grid month.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines.exceptions import ConvergenceError
from sklearn.ensemble import HistGradientBoostingClassifier

from cxresearch.errors import NotEstimableError
from cxresearch.survival.columns import LifetimeColumns
from cxresearch.survival.cox import fit_cox
from cxresearch.survival.parametric import DISTRIBUTIONS
from cxresearch.survival.scoring import ModelPredictions
from cxresearch.survival.timevarying import fit_person_month_cloglog

#: Lifetime columns of the customer-level frames (months).
DURATION, EVENT, ENTRY = "duration_months", "event", "entry_months"


def _from_survival(grid: np.ndarray, survival: np.ndarray) -> ModelPredictions:
    """Predictions whose risk score is the cumulative hazard -log S at the last grid month."""
    survival = np.clip(survival, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        risk = -np.log(np.maximum(survival[:, -1], 1e-300))
    return ModelPredictions(risk, grid, survival)


def kaplan_meier_model(train: pd.DataFrame, n_test: int, grid: np.ndarray) -> ModelPredictions:
    """The no-covariate reference: the training Kaplan-Meier curve (delayed entry) for every customer."""
    time, event, entry = (train[c].to_numpy(float) for c in (DURATION, EVENT, ENTRY))
    times = np.unique(time[event > 0])
    deaths = np.array([np.sum((time == t) & (event > 0)) for t in times], dtype=float)
    at_risk = np.array([np.sum((entry < t) & (time >= t)) for t in times], dtype=float)
    steps = np.cumprod(1.0 - deaths / at_risk)
    index = np.searchsorted(times, grid, side="right") - 1
    curve = np.where(index >= 0, steps[np.clip(index, 0, None)], 1.0)
    return ModelPredictions(np.zeros(n_test), grid, np.tile(curve, (n_test, 1)))


def design_for(test: pd.DataFrame, terms: Sequence[str], train_design: pd.DataFrame) -> np.ndarray:
    """The test customers' values of the fitted terms (numeric columns and `col=level` dummies).

    Missing numeric values take the training mean, so every test customer gets a prediction.
    """
    columns = []
    for term in terms:
        if term in test:
            values = pd.to_numeric(test[term], errors="coerce").astype(float)
            columns.append(values.fillna(float(train_design[term].mean())).to_numpy())
        else:
            column, level = term.split("=", 1)
            columns.append((test[column].astype(str) == level).to_numpy(float))
    return np.column_stack(columns)


def cox_model(
    train: pd.DataFrame, test: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], grid: np.ndarray
) -> tuple[ModelPredictions, list[str]]:
    """Cox model (delayed entry) with a Breslow baseline; risk = linear predictor. Also the fit's notes."""
    result = fit_cox(train, numeric, categorical, LifetimeColumns(entry=ENTRY))
    beta = result.table["coef"].to_numpy(float)
    design = result.data
    fitted_x = design[result.terms].to_numpy(float)
    offset = np.exp(fitted_x @ beta)
    time, event, entry = (design[c].to_numpy(float) for c in (DURATION, EVENT, ENTRY))
    times = np.unique(time[event > 0])
    # Breslow: churns at t over the summed relative hazards of those at risk then (entry < t <= T)
    increments = np.array([np.sum((time == t) & (event > 0)) / offset[(entry < t) & (time >= t)].sum()
                           for t in times])
    index = np.searchsorted(times, grid, side="right") - 1
    baseline = np.where(index >= 0, np.cumsum(increments)[np.clip(index, 0, None)], 0.0)
    linear = design_for(test, result.terms, design) @ beta
    survival = np.exp(-baseline[None, :] * np.exp(linear)[:, None])
    return ModelPredictions(linear, grid, survival), list(result.notes)


def aft_model(
    train: pd.DataFrame, test: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], grid: np.ndarray
) -> tuple[ModelPredictions, str]:
    """The AFT family (`survival.parametric.DISTRIBUTIONS`) with the lowest AIC, on the Cox model's terms."""
    design = fit_cox(train, numeric, categorical, LifetimeColumns(entry=ENTRY)).data
    design[DURATION] = design[DURATION].clip(lower=0.5 / 30.4375)  # no density at 0 months
    fits = {}
    for name, (cls, _, _) in DISTRIBUTIONS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fits[name] = cls().fit(design, DURATION, EVENT, entry_col=ENTRY)
        except (ConvergenceError, np.linalg.LinAlgError):
            continue
    if not fits:
        raise NotEstimableError("no AFT family converged", needs="more customers")
    best = min(fits, key=lambda n: fits[n].AIC_)
    terms = [c for c in design.columns if c not in (DURATION, EVENT, ENTRY)]
    x = pd.DataFrame(design_for(test, terms, design), columns=terms, index=test.index)
    survival = fits[best].predict_survival_function(x, times=grid).to_numpy().T
    return _from_survival(grid, survival), best


def _cloglog_baseline(tenure: np.ndarray, event: np.ndarray, offset: np.ndarray, months: int) -> np.ndarray:
    """Monthly cloglog hazard of tenure months 1..months given the drivers' offsets x'beta (Newton per month).

    Solves sum over person-months at tenure k of 1 - exp(-exp(a_k + x'beta)) = churns at k, the grouped-time
    analogue of Breslow's estimator; months without person-months take the last estimated hazard.
    """
    k = np.clip(tenure, 1, months) - 1
    deaths = np.bincount(k, weights=event, minlength=months)
    trials = np.bincount(k, minlength=months).astype(float)
    rate = np.clip(deaths / np.maximum(trials, 1.0), 1e-9, 1 - 1e-9)
    a = np.log(-np.log1p(-rate)) - np.bincount(k, weights=offset, minlength=months) / np.maximum(trials, 1.0)
    for _ in range(50):
        eta = np.exp(a[k] + offset)
        f = np.bincount(k, weights=-np.expm1(-eta), minlength=months) - deaths
        slope = np.bincount(k, weights=eta * np.exp(-eta), minlength=months)
        a = a - np.divide(f, slope, out=np.zeros(months), where=slope > 0)
    base = np.where(deaths > 0, a, -np.inf)
    return base[np.maximum.accumulate(np.where(trials > 0, np.arange(months), 0))]


def cloglog_model(
    train_pm: pd.DataFrame, test: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
    grid: np.ndarray,
) -> ModelPredictions:
    """Person-month cloglog model (`fit_person_month_cloglog`) with a monthly baseline; risk = x'beta."""
    fitted = fit_person_month_cloglog(train_pm, numeric, categorical)
    beta = fitted.table["coef"].to_numpy(float)
    reference = train_pm.assign(**_dummies(train_pm, fitted.terms))
    months = int(grid.max())
    alpha = _cloglog_baseline(train_pm["tenure"].to_numpy(int), train_pm["event"].to_numpy(float),
                              design_for(train_pm, fitted.terms, reference) @ beta, months)
    linear = design_for(test, fitted.terms, reference) @ beta
    hazard = -np.expm1(-np.exp(alpha[None, :] + linear[:, None]))
    survival = np.cumprod(1.0 - hazard, axis=1)[:, grid.astype(int) - 1]
    return ModelPredictions(linear, grid, survival)


def _dummies(frame: pd.DataFrame, terms: Sequence[str]) -> dict[str, pd.Series]:
    """The `col=level` dummy columns of `terms` computed on `frame` (numeric terms are already columns)."""
    return {t: (frame[t.split("=", 1)[0]].astype(str) == t.split("=", 1)[1]).astype(float)
            for t in terms if "=" in t and t not in frame}


def boosting_model(
    train_pm: pd.DataFrame, test: pd.DataFrame, features: Sequence[str], categorical: Sequence[str],
    grid: np.ndarray, seed: int = 0,
) -> ModelPredictions:
    """Gradient boosting (sklearn `HistGradientBoostingClassifier`) of churn in a month on tenure and drivers.

    The classifier's probability for tenure month k is the discrete hazard; S(t) is the product of 1 - hazard over
    months 1..t with the drivers held at their last known value.
    """
    columns = ["tenure", *features, *categorical]
    levels = {c: sorted(train_pm[c].astype(str).unique()) for c in categorical}

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        coded = frame[["tenure", *features]].astype(float)
        for c in categorical:
            coded[c] = pd.Categorical(frame[c].astype(str), categories=levels[c]).codes.astype(float)
        return coded[columns]

    model = HistGradientBoostingClassifier(
        learning_rate=0.1, max_iter=150, max_leaf_nodes=15, min_samples_leaf=200, l2_regularization=1.0,
        categorical_features=[columns.index(c) for c in categorical] or None, early_stopping=False,
        random_state=seed,
    ).fit(encode(train_pm), train_pm["event"].astype(int))
    months = np.arange(1, int(grid.max()) + 1)
    rows = encode(test.loc[test.index.repeat(months.size)].assign(tenure=np.tile(months, len(test))))
    hazard = model.predict_proba(rows)[:, 1].reshape(len(test), months.size)
    survival = np.cumprod(1.0 - hazard, axis=1)[:, grid.astype(int) - 1]
    return _from_survival(grid, survival)
