"""Whom to treat: uplift models fitted on one part of a randomised experiment, judged on the held-out part by
Qini curves and by the incremental profit of targeting policies (uplift x value - cost, baseline risk,
everyone, no one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split

from cxresearch.experiments.policy import PolicyComparison, compare_policies, top_policy, uplift_policy
from cxresearch.experiments.qini import QiniResult, qini_curve
from cxresearch.experiments.uplift import UpliftModel, design_matrix, fit_dr_learner, fit_t_learner


@dataclass
class TargetingResult:
    """Uplift models of `outcome` (arm vs control) fitted on a training part, their Qini curves and the policy
    comparison on the held-out part, and the value of one unit of outcome used by the uplift policy.

    `test_index` holds the frame's index labels of the held-out customers.
    """

    arm: str
    control: str
    outcome: str
    n_train: int
    n_test: int
    test_index: pd.Index
    value_per_unit: float
    models: list[UpliftModel]
    qini: list[QiniResult]
    policies: PolicyComparison

    def summary(self) -> pd.DataFrame:
        """Qini coefficient (outcome counts on the held-out part) of each model, with 95% CI."""
        return pd.DataFrame([{
            "model": q.label, "n_test": q.n, "qini_coefficient": q.coefficient.value,
            "ci_low": q.coefficient.ci_low, "ci_high": q.coefficient.ci_high,
            "mean_predicted_uplift": float(m.uplift_.mean()),
        } for m, q in zip(self.models, self.qini)])

    def _repr_html_(self) -> str:
        head = (f"<b>Targeting {self.arm} vs {self.control} by uplift in {self.outcome}</b>: fitted on "
                f"{self.n_train:,} customers, judged on {self.n_test:,} held out")
        return head + self.summary().to_html(index=False) + self.policies.table.to_html(index=False)


def targeting_experiment(
    frame: pd.DataFrame, *, arm: str, outcome: str, value: str, covariates: Sequence[str], cost: float,
    control: str = "control", arm_column: str = "arm", risk: str = "high", holdout: float = 0.5,
    learner: BaseEstimator | None = None, folds: int = 5, seed: int = 0, n_boot: int = 200, currency: str = "",
    cost_source: str = "",
) -> TargetingResult:
    """Fit T- and DR-learners on part of a randomised experiment; compare rankings and policies on the rest.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per customer: the arm, the outcome, the value and the pre-assignment covariates.
    arm, control : str
        The treated arm to study and the control arm (other arms are left out).
    outcome : str
        Column of the outcome the uplift models predict (e.g. visit; retained within the horizon).
    value : str
        Column of the money realised per customer before contact costs (e.g. spend; margin when retained).
    covariates : sequence of str
        Pre-assignment covariate columns (categorical ones are dummy-coded).
    cost : float
        Cost per contact, in the units of `value`.
    arm_column : str
        Column holding the arm.
    risk : {"high", "low"}
        The risk policy targets the customers with the highest ("high") or lowest ("low") predicted outcome
        without treatment: "low" when the outcome is retention (highest churn risk first), "high" when it is a
        response such as a visit (the likeliest responders first, the usual response-model targeting).
    holdout : float
        Share of customers held out (stratified by arm) for the Qini curves and the policy comparison.
    learner : scikit-learn estimator, optional
        Base learner of the outcome models (default `uplift.default_learner`).
    folds : int
        Cross-fitting folds.
    seed : int
        Seed of the split, the folds and the bootstraps.
    n_boot : int
        Bootstrap resamples for the Qini bands and the policy CIs.
    currency : str
        Unit of `value`, for labels.
    cost_source : str
        Where `cost` came from, in words, for labels (`policy.compare_policies`).

    Returns
    -------
    TargetingResult
        The models, one Qini curve per model and the policy comparison, all on the held-out customers. The
        uplift policies target where predicted uplift x value per unit - cost > 0, the value per unit being the
        training part's treated customers' total value over their total outcome (e.g. spend per visit); the
        risk policy targets as many customers as the DR-learner's uplift policy, so they compare at one budget.

    References
    ----------
    Ascarza, E. (2018). Retention futility: targeting high-risk customers might be ineffective. Journal of
    Marketing Research 55, 80-98.
    """
    sub = frame[frame[arm_column].isin([arm, control])]
    X = design_matrix(sub[list(covariates)]).to_numpy()
    t = (sub[arm_column] == arm).to_numpy()
    y, v = sub[outcome].to_numpy(float), sub[value].to_numpy(float)
    train, test = train_test_split(np.arange(len(sub)), test_size=holdout, stratify=t, random_state=seed)
    per_unit = float(v[train][t[train]].sum() / y[train][t[train]].sum())
    models = [fit(X[train], t[train], y[train], learner=learner, folds=folds, seed=seed)
              for fit in (fit_t_learner, fit_dr_learner)]
    scores = [model.predict(X[test]) for model in models]
    qini = [qini_curve(s, t[test], y[test], n_boot=n_boot, seed=seed, label=m.method)
            for s, m in zip(scores, models)]
    baseline = models[0].predict_baseline(X[test])
    targets = {f"uplift ({m.method})": uplift_policy(s, per_unit, cost) for s, m in zip(scores, models)}
    count = int(targets["uplift (DR-learner)"].sum())
    targets["baseline risk"] = top_policy(baseline if risk == "high" else -baseline, count)
    policies = compare_policies(targets, t[test], v[test], cost=cost, n_boot=n_boot, seed=seed, currency=currency,
                                cost_source=cost_source)
    return TargetingResult(arm, control, outcome, len(train), len(test), sub.index[test], per_unit, models, qini,
                           policies)
