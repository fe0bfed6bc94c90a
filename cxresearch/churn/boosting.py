"""The predictive churn model: gradient-boosted trees (scikit-learn HistGradientBoosting) on the snapshot's
CX columns, run on one OpenMP thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from cxresearch.churn.columns import DEFAULT_CATEGORICAL, default_features


@dataclass
class BoostingModel:
    """A fitted HistGradientBoosting churn classifier with the columns it was trained on."""

    model: HistGradientBoostingClassifier
    features: list[str]
    categorical: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Model input columns, numeric first."""
        return [*self.features, *self.categorical]

    def frame(self, snapshot: pd.DataFrame) -> pd.DataFrame:
        """The model's input frame: numerics as float (NaN kept: the trees route missing values), categories."""
        out = snapshot[self.features].astype(float)
        for col in self.categorical:
            out[col] = pd.Categorical(snapshot[col].astype(str), categories=self.categories[col])
        return out

    def predict_proba(self, snapshot: pd.DataFrame) -> np.ndarray:
        """Churn probability (0-1) within the prediction window for each row of `snapshot`."""
        with one_openmp_thread():
            return self.model.predict_proba(self.frame(snapshot))[:, 1]


def one_openmp_thread() -> threadpool_limits:
    """Run scikit-learn's OpenMP code on one thread: on a busy machine its spinning threads slow small
    fits down many-fold, and with one thread the boosting model is exactly reproducible.

    Returns
    -------
    threadpoolctl.threadpool_limits
        A context manager limiting OpenMP to one thread inside its block.
    """
    return threadpool_limits(limits=1, user_api="openmp")


def model_columns(
    snapshot: pd.DataFrame, features: list[str] | None = None, categorical: list[str] | None = None,
    exclude: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Default numeric and categorical model columns present in `snapshot` with some variation, less the
    `exclude`d ones (columns a `LeakageScreen` flagged).

    Parameters
    ----------
    snapshot
        One row per customer (`features.snapshot`).
    features, categorical
        Requested numeric and categorical columns; None for the defaults present.
    exclude
        Columns to leave out.

    Returns
    -------
    tuple of list of str
        The numeric and the categorical columns.
    """
    def usable(column: str) -> bool:
        return column in snapshot and column not in exclude and snapshot[column].nunique() > 1

    return ([c for c in (features or default_features(snapshot)) if usable(c)],
            [c for c in (categorical or DEFAULT_CATEGORICAL) if usable(c)])


#: Smallest leaf of the boosting trees on large data (customers); small data gets `min_leaf`.
MIN_LEAF = 200


def min_leaf(n: int) -> int:
    """Smallest leaf (customers) for `n` training customers: 200, but at most 5% of them (at least 10), so that
    a few hundred customers still allow a split instead of one constant prediction.

    Parameters
    ----------
    n
        Training customers.

    Returns
    -------
    int
        Smallest leaf size (customers).
    """
    return max(10, min(MIN_LEAF, n // 20))


def fit_boosting(
    snapshot: pd.DataFrame, features: list[str], categorical: list[str], seed: int = 0
) -> BoostingModel:
    """Gradient-boosted trees (scikit-learn HistGradientBoosting, Ke et al. 2017 style) on active customers.

    Depth-2 trees (two-way interactions at most), a small learning rate, large leaves and L2 regularisation:
    churn signals are weak, and deeper trees overfit (calibration slope well below 1 on the demo world's
    holdout). Missing survey scores are routed by the trees, so no imputation is needed. No class weights:
    predicted probabilities stay calibrated.

    Parameters
    ----------
    snapshot
        One row per customer with `churned` and `active` (only active customers are used).
    features, categorical
        Numeric and categorical model columns.
    seed
        Random seed of the fit.

    Returns
    -------
    BoostingModel
        The fitted model with its columns.

    References
    ----------
    Ke et al. (2017), "LightGBM: a highly efficient gradient boosting decision tree", NeurIPS.
    """
    data = snapshot[snapshot["active"].eq(True)]
    categories = {c: sorted(data[c].astype(str).unique()) for c in categorical}
    model = HistGradientBoostingClassifier(
        learning_rate=0.03, max_iter=150, max_depth=2, min_samples_leaf=min_leaf(len(data)), l2_regularization=1.0,
        categorical_features="from_dtype", early_stopping=False, random_state=seed,
    )
    fitted = BoostingModel(model, list(features), list(categorical), categories)
    with one_openmp_thread():
        model.fit(fitted.frame(data), data["churned"].astype(int).to_numpy())
    return fitted
