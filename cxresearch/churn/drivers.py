"""Key-driver analysis of churn: permutation importance and partial dependence (with bootstrap bands) of the
boosting model, and relative weights of the CX drivers in a logistic model, with bootstrap CIs.

References: Breiman (2001) and Fisher, Rudin & Dominici (2019) for permutation importance; Friedman (2001)
for partial dependence; Efron & Tibshirani (1993), An Introduction to the Bootstrap,
for its bands; Johnson (2000), "A heuristic method for estimating the relative weight of predictor
variables in multiple regression", Multivariate Behavioral Research 35(1):1-19, and its logistic extension by
Tonidandel & LeBreton (2010), Journal of Business and Psychology 25:1-9.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.inspection import permutation_importance as sk_permutation_importance

from cxresearch.churn.boosting import BoostingModel, fit_boosting, one_openmp_thread
from cxresearch.churn.columns import FEATURE_LABELS, short_label
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95
from cxresearch.stats.tables import TableSummary
from cxresearch.survival.display import summary_html


def permutation_importance(
    model: BoostingModel, snapshot: pd.DataFrame, n_repeats: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Drop in holdout ROC-AUC when one column is shuffled (AUC points), mean of `n_repeats` with a t 95% CI.

    Computed on customers the model was not trained on, so it measures what the model relies on to predict
    new customers; correlated columns share credit (shuffling one leaves the other's information in).

    Parameters
    ----------
    model
        A fitted boosting model.
    snapshot
        Customers to measure on (their active rows), ideally not those the model was trained on.
    n_repeats, seed
        Shuffles per column and their seed.

    Returns
    -------
    pandas.DataFrame
        Per feature: label, importance (ROC-AUC points) and its 95% CI, most important first.

    References
    ----------
    Breiman (2001), "Random forests", Machine Learning 45:5-32; Fisher, Rudin & Dominici (2019), JMLR 20(177).
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
        "label": [short_label(c) for c in model.columns],
        "importance": result.importances_mean,
        "ci_low": result.importances_mean - half,
        "ci_high": result.importances_mean + half,
    }, index=pd.Index(model.columns, name="feature"))
    return table.sort_values("importance", ascending=False)


def _grid(values: pd.Series) -> np.ndarray:
    """Observed integer values up to the 99th percentile (counts, scores), else 20 quantiles."""
    top = values.quantile(0.99)
    whole = np.allclose(values, np.round(values))
    return (np.arange(values.min(), top + 1) if whole and top - values.min() <= 30
            else np.unique(values.quantile(np.linspace(0.01, 0.99, 20))))


def _average_prediction(model: BoostingModel, frame: pd.DataFrame, feature: str, grid: np.ndarray) -> np.ndarray:
    """Mean predicted churn (%) over the rows of the model frame `frame` with `feature` set to each grid value."""
    # one prediction call over all grid values (at most ~2M rows at a time): per-call overhead dominates for the
    # few hundred customers a bootstrap refit is scored on
    step = max(1, 2_000_000 // max(len(frame), 1))
    out = []
    with one_openmp_thread():
        for start in range(0, len(grid), step):
            values = np.asarray(grid[start:start + step], dtype=float)
            stacked = pd.concat([frame] * len(values), ignore_index=True)
            stacked[feature] = np.repeat(values, len(frame))
            prob = model.model.predict_proba(stacked)[:, 1]
            out.append(100 * prob.reshape(len(values), len(frame)).mean(axis=1))
    return np.concatenate(out)


@dataclass
class PartialDependence(TableSummary):
    """Average predicted churn (%) with one feature set to each grid value for every customer (Friedman 2001);
    with bootstrap bands, their standard error and 95% band (%) and the top-minus-bottom difference (points).

    `table` (`summary()`), per grid value: value, churn_pct (%) and, with bands, se, ci_low, ci_high (%).
    """

    feature: str
    label: str  # the feature's label on axes
    table: pd.DataFrame  # value, churn_pct (%); with bands also se, ci_low, ci_high (%)
    range_points: float | None = None  # churn_pct at the top minus at the bottom of the grid (points)
    range_ci: tuple[float, float] | None = None  # its normal bootstrap 95% CI (points)

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"Partial dependence on {self.label}", digits=2)


def partial_dependence(
    model: BoostingModel, snapshot: pd.DataFrame, feature: str, grid: np.ndarray | None = None
) -> PartialDependence:
    """Average predicted churn (%) with `feature` set to each grid value for every customer (Friedman 2001).

    The default grid is the observed integer values (counts, scores) up to the 99th percentile, or 20
    quantiles for continuous columns. Customers' other columns keep their values.

    Parameters
    ----------
    model
        A fitted boosting model (`churn.boosting.fit_boosting`).
    snapshot
        Customers to average over (their active rows are used).
    feature
        A numeric feature of the model.
    grid
        Values to set the feature to; default as above.

    Returns
    -------
    PartialDependence
        The curve (value, churn_pct in %).

    References
    ----------
    Friedman (2001), "Greedy function approximation: a gradient boosting machine", Annals of Statistics 29(5).
    """
    if feature not in model.features:
        raise ValueError(f"{feature!r} is not a numeric feature of the model ({model.features})")
    data = snapshot[snapshot["active"].eq(True)]
    grid = _grid(data[feature].dropna().astype(float)) if grid is None else np.asarray(grid, dtype=float)
    out = pd.DataFrame({"value": grid.astype(float),
                        "churn_pct": _average_prediction(model, model.frame(data), feature, grid)})
    return PartialDependence(feature, FEATURE_LABELS.get(feature, feature), out)


@dataclass
class PartialDependenceBands:
    """Partial-dependence curves (predicted churn, %) with bootstrap 95% bands, one curve per feature."""

    curves: list[PartialDependence]  # each with bands and its range
    n_boot: int
    n_train: int  # customers each refit resamples
    n_eval: int  # customers the refits' curves are averaged over

    def summary(self) -> pd.DataFrame:
        """All curves stacked: feature, label, value, churn_pct, se, ci_low, ci_high (%)."""
        return pd.concat([c.table.assign(feature=c.feature, label=c.label) for c in self.curves],
                         ignore_index=True)[["feature", "label", "value", "churn_pct", "se", "ci_low", "ci_high"]]

    def _repr_html_(self) -> str:
        return summary_html(self.ranges(), f"Partial dependence, 95% bands from {self.n_boot} bootstrap refits",
                            digits=2)

    def ranges(self) -> pd.DataFrame:
        """Per feature: predicted churn at the top minus the bottom of its grid (points), normal bootstrap 95% CI."""
        return pd.DataFrame([
            {"feature": c.feature, "label": short_label(c.feature), "from": c.table["value"].iloc[0],
             "to": c.table["value"].iloc[-1], "difference_points": c.range_points, "ci_low": c.range_ci[0],
             "ci_high": c.range_ci[1]}
            for c in self.curves
        ]).set_index("feature")

    def to_estimates(self, prefix: str = "pd_range") -> dict[str, Estimate]:
        """`<prefix>_<feature>`: the `ranges()` rows as `Estimate`s (points)."""
        return {
            f"{prefix}_{feature}": Estimate(
                float(r.difference_points), "points",
                f"Predicted churn at {r.label} {r.to:g} minus at {r['from']:g} (partial dependence)",
                float(r.ci_low), float(r.ci_high), self.n_train,
                note=f"normal bootstrap interval, {self.n_boot} refits of the boosting model",
            )
            for feature, r in self.ranges().iterrows()
        }


def partial_dependence_bands(
    model: BoostingModel, train: pd.DataFrame, snapshot: pd.DataFrame, features: list[str], n_boot: int = 20,
    seed: int = 0, max_eval_customers: int = 500,
) -> PartialDependenceBands:
    """Partial dependence of `model` on each of `features` over `snapshot`, with 95% bands from refitting the
    model on `n_boot` bootstrap resamples of the customers in `train` (its training data, or a sample of it).

    The band is the normal bootstrap interval, curve +/- 1.96 bootstrap SD: a standard error is usable from
    about 20-25 replications, percentiles need hundreds (Efron & Tibshirani 1993, ch. 6 and 13), and each
    replication is a refit. Each refit's
    curve is averaged over the same random `max_eval_customers` customers of `snapshot`: the customers are
    common to all refits, so the spread measures how much the learned relation moves with the training data,
    and scoring a few hundred customers instead of all of them makes a refit cost little more than its fit.
    When `train` is a sample of the main model's training data, the bands are those of the sample (wider).
    The bands measure variance only, not the bias of the model's regularisation (shallow trees, large leaves),
    which flattens the curve where few customers have a value.

    Parameters
    ----------
    model
        The fitted boosting model.
    train
        Customers to resample for the refits (its training data or a sample of it).
    snapshot
        Customers the curves are averaged over.
    features
        Numeric features of the model to draw.
    n_boot, seed
        Bootstrap refits (at least 2) and their seed.
    max_eval_customers
        Customers each refit's curve is averaged over.

    Returns
    -------
    PartialDependenceBands
        One curve per feature with its band (%) and top-minus-bottom difference (points).

    References
    ----------
    Friedman (2001), Annals of Statistics 29(5):1189-1232; Efron & Tibshirani (1993), An Introduction to the
    Bootstrap, ch. 6 and 13.
    """
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2 for a bootstrap standard deviation, not {n_boot}")
    curves = [partial_dependence(model, snapshot, f) for f in features]
    rng = np.random.default_rng(seed)
    data = snapshot[snapshot["active"].eq(True)]
    evaluate = data.iloc[np.sort(rng.choice(len(data), min(max_eval_customers, len(data)), replace=False))]
    train = train[train["active"].eq(True)].reset_index(drop=True)
    draws = np.empty((n_boot, sum(len(c.table) for c in curves)))
    for b in range(n_boot):
        refit = fit_boosting(train.iloc[rng.integers(0, len(train), len(train))], model.features,
                             model.categorical, seed)
        frame = refit.frame(evaluate)
        draws[b] = np.concatenate([_average_prediction(refit, frame, c.feature, c.table["value"].to_numpy())
                                   for c in curves])
    ends = np.cumsum([0] + [len(c.table) for c in curves])
    banded = [_with_band(c, draws[:, start:end]) for c, start, end in zip(curves, ends[:-1], ends[1:], strict=True)]
    return PartialDependenceBands(banded, n_boot, len(train), len(evaluate))


def _with_band(curve: PartialDependence, draws: np.ndarray) -> PartialDependence:
    """`curve` with the normal bootstrap 95% band of its refits' curves `draws` (refits x grid values, %) and its
    top-minus-bottom difference (points) with CI."""
    se = draws.std(axis=0, ddof=1)
    table = curve.table.assign(se=se, ci_low=np.clip(curve.table["churn_pct"] - Z95 * se, 0, 100),
                               ci_high=np.clip(curve.table["churn_pct"] + Z95 * se, 0, 100))
    value = float(table["churn_pct"].iloc[-1] - table["churn_pct"].iloc[0])
    half = Z95 * float((draws[:, -1] - draws[:, 0]).std(ddof=1))
    return replace(curve, table=table, range_points=value, range_ci=(value - half, value + half))


@dataclass
class RelativeWeights(TableSummary):
    """Share of the logistic model's explained variance attributable to each driver group (%), with CIs.

    `table` (`summary()`), per driver: label, weight (% of explained variance), raw weight (R2 units), bootstrap
    95% CI (%).
    """

    table: pd.DataFrame
    r2: float
    n: int
    n_boot: int


def _weights_design(data: pd.DataFrame, features: list[str], categorical: list[str]) -> tuple[np.ndarray, list[str]]:
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

    Parameters
    ----------
    snapshot
        One row per customer with `active` and `churned`.
    features, categorical
        Numeric and categorical driver columns.
    n_boot, seed
        Bootstrap resamples and their seed.

    Returns
    -------
    RelativeWeights
        Per driver: weight (% of explained variance), raw weight and 95% CI.

    References
    ----------
    Johnson (2000), Multivariate Behavioral Research 35(1):1-19; Tonidandel & LeBreton (2010), Journal of Business
    and Psychology 25:1-9.
    """
    data = snapshot[snapshot["active"].eq(True)].reset_index(drop=True)
    y = data["churned"].astype(float).to_numpy()
    if not features and not categorical:
        raise ValueError("no driver columns with more than one value: nothing to weigh")
    x, groups = _weights_design(data, features, categorical)
    if not groups:
        raise ValueError("no driver column varies among these customers: nothing to weigh")
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
        "label": [short_label(g) for g in names], "weight_pct": share, "raw_weight": raw,
        "ci_low": low, "ci_high": high,
    }, index=pd.Index(names, name="driver")).sort_values("weight_pct", ascending=False)
    return RelativeWeights(table, float(raw.sum()), len(y), len(draws))
