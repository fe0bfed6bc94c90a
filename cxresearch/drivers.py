"""Key-driver analysis of churn: permutation importance and partial dependence of the boosting model, and
relative weights of the CX drivers in a logistic model, with bootstrap CIs.

References: Breiman (2001) and Fisher, Rudin & Dominici (2019) for permutation importance; Friedman (2001)
for partial dependence; Johnson (2000), "A heuristic method for estimating the relative weight of predictor
variables in multiple regression", Multivariate Behavioral Research 35(1):1-19, and its logistic extension by
Tonidandel & LeBreton (2010), Journal of Business and Psychology 25:1-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.inspection import permutation_importance as sk_permutation_importance

from cxresearch.churn import FEATURE_LABELS
from cxresearch.churn_eval import BoostingModel, one_openmp_thread


def _label(column: str) -> str:
    """Readable name of a model column, without its unit."""
    return FEATURE_LABELS.get(column, column).split(" (")[0]


def permutation_importance(
    model: BoostingModel, snapshot: pd.DataFrame, n_repeats: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Drop in holdout ROC-AUC when one column is shuffled (AUC points), mean of `n_repeats` with a t 95% CI.

    Computed on customers the model was not trained on, so it measures what the model relies on to predict
    new customers; correlated columns share credit (shuffling one leaves the other's information in).
    """
    data = snapshot[snapshot["active"].eq(True)]
    with one_openmp_thread():
        result = sk_permutation_importance(
            model.model, model.frame(data), data["churned"].astype(int).to_numpy(), scoring="roc_auc",
            n_repeats=n_repeats, random_state=seed,
        )
    half = stats.t.ppf(0.975, max(n_repeats - 1, 1)) * result.importances_std * np.sqrt(
        n_repeats / max(n_repeats - 1, 1)) / np.sqrt(n_repeats)
    table = pd.DataFrame({
        "label": [_label(c) for c in model.columns],
        "importance": result.importances_mean,
        "ci_low": result.importances_mean - half,
        "ci_high": result.importances_mean + half,
    }, index=pd.Index(model.columns, name="feature"))
    return table.sort_values("importance", ascending=False)


def partial_dependence(
    model: BoostingModel, snapshot: pd.DataFrame, feature: str, grid: np.ndarray | None = None
) -> pd.DataFrame:
    """Average predicted churn (%) with `feature` set to each grid value for every customer (Friedman 2001).

    The default grid is the observed integer values (counts, scores) up to the 99th percentile, or 20
    quantiles for continuous columns. Customers' other columns keep their values.
    """
    if feature not in model.features:
        raise ValueError(f"{feature!r} is not a numeric feature of the model ({model.features})")
    data = snapshot[snapshot["active"].eq(True)]
    values = data[feature].dropna().astype(float)
    if grid is None:
        top = values.quantile(0.99)
        whole = np.allclose(values, np.round(values))
        grid = (np.arange(values.min(), top + 1) if whole and top - values.min() <= 30
                else np.unique(values.quantile(np.linspace(0.01, 0.99, 20))))
    frame = model.frame(data)
    rows = []
    with one_openmp_thread():
        for value in grid:
            prob = model.model.predict_proba(frame.assign(**{feature: float(value)}))[:, 1]
            rows.append({"value": float(value), "churn_pct": 100 * prob.mean()})
    out = pd.DataFrame(rows)
    out.attrs.update(feature=feature, label=FEATURE_LABELS.get(feature, feature))
    return out


@dataclass
class RelativeWeights:
    """Share of the logistic model's explained variance attributable to each driver group (%), with CIs."""

    table: pd.DataFrame
    r2: float
    n: int
    n_boot: int

    def summary(self) -> pd.DataFrame:
        """Per driver: label, weight (% of explained variance), raw weight (R2 units), bootstrap 95% CI (%)."""
        return self.table.copy()


def _design(data: pd.DataFrame, features: list[str], categorical: list[str]) -> tuple[np.ndarray, list[str]]:
    """Predictor matrix (mean-filled values, missing flags, dummies) and the driver group of each column."""
    columns, groups = [], []
    for col in features:
        x = data[col].astype(float).to_numpy()
        missing = np.isnan(x)
        if missing.all():
            continue
        columns.append(np.where(missing, np.nanmean(x), x))
        groups.append(col)
        if missing.any() and not missing.all():
            columns.append(missing.astype(float))
            groups.append(col)  # a missing score is part of what the score tells
    for col in categorical:
        values = data[col].astype(str)
        for level in sorted(values.unique())[1:]:
            columns.append((values == level).to_numpy(dtype=float))
            groups.append(col)
    x = np.column_stack(columns)
    keep = x.std(axis=0) > 0
    return x[:, keep], [g for g, k in zip(groups, keep, strict=True) if k]


def _logit_fit(z: np.ndarray, y: np.ndarray, iterations: int = 25) -> np.ndarray:
    """Logistic regression coefficients (intercept first) by Newton-Raphson; `z` without intercept."""
    x = np.column_stack([np.ones(len(z)), z])
    beta = np.zeros(x.shape[1])
    beta[0] = special.logit(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    for _ in range(iterations):
        p = special.expit(x @ beta)
        hessian = x.T @ (x * (p * (1 - p))[:, None]) + 1e-8 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, x.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def _raw_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Tonidandel & LeBreton (2010) relative weights per column of `x` (they sum to a pseudo-R2)."""
    xs = (x - x.mean(axis=0)) / x.std(axis=0)
    corr = np.corrcoef(xs, rowvar=False)
    eigval, eigvec = np.linalg.eigh(corr)
    eigval = np.clip(eigval, 1e-12, None)
    lam = eigvec @ np.diag(np.sqrt(eigval)) @ eigvec.T  # X = Z Lambda, Z orthonormal columns
    z = xs @ eigvec @ np.diag(1 / np.sqrt(eigval)) @ eigvec.T
    b = _logit_fit(z, y)[1:]
    logit = z @ b
    prob = special.expit(logit)
    r = np.corrcoef(y, prob)[0, 1]
    # Menard's fully standardised coefficients: b * sd(z) * R / sd(predicted logit); sd(z) = 1.
    beta = b * r / logit.std()
    return (lam**2) @ (beta**2)


def relative_weights(
    snapshot: pd.DataFrame, features: list[str], categorical: list[str], n_boot: int = 200, seed: int = 0
) -> RelativeWeights:
    """Johnson's relative weights for churn (logistic extension), summed by driver, with bootstrap 95% CIs.

    Each driver's weight is its share of the variance the model explains, allocated through an orthogonal
    rotation of the predictors so that correlated drivers (CES and CSAT, contacts and resolution) split the
    credit instead of one taking it all. A score's weight includes its missing-value flag; a categorical's
    includes all its levels. CIs: percentile bootstrap over customers.
    """
    data = snapshot[snapshot["active"].eq(True)].reset_index(drop=True)
    y = data["churned"].astype(float).to_numpy()
    x, groups = _design(data, features, categorical)
    names = list(dict.fromkeys(groups))
    index = np.array([names.index(g) for g in groups])

    def by_group(weights: np.ndarray) -> np.ndarray:
        return np.bincount(index, weights=weights, minlength=len(names))

    raw = by_group(_raw_weights(x, y))
    rng = np.random.default_rng(seed)
    draws = []
    while len(draws) < n_boot:
        idx = rng.integers(0, len(y), len(y))
        xb = x[idx]
        if y[idx].min() == y[idx].max() or np.any(xb.std(axis=0) == 0):
            continue
        w = by_group(_raw_weights(xb, y[idx]))
        draws.append(100 * w / w.sum())
    share = 100 * raw / raw.sum()
    low, high = np.percentile(np.asarray(draws), [2.5, 97.5], axis=0) if draws else (share * np.nan,) * 2
    table = pd.DataFrame({
        "label": [_label(g) for g in names], "weight_pct": share, "raw_weight": raw,
        "ci_low": low, "ci_high": high,
    }, index=pd.Index(names, name="driver")).sort_values("weight_pct", ascending=False)
    return RelativeWeights(table, float(raw.sum()), len(y), len(draws))
