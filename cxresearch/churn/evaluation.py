"""How well the churn models predict: out-of-time holdout (its snapshots in `cxresearch.churn.windows`),
cross-validation, discrimination, calibration and lift (expected maximum profit is `cxresearch.churn.empc`).

References: Van Calster et al. (2019), "Calibration: the Achilles heel of predictive analytics", BMC Medicine 17:230
(calibration intercept and slope); Hanley & McNeil (1982) and Efron & Tibshirani (1993) for AUC uncertainty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold

from cxresearch.churn.boosting import BoostingModel, fit_boosting, model_columns
from cxresearch.churn.logit import fit_churn_logit
from cxresearch.churn.windows import out_of_time_snapshots
from cxresearch.data.schema import CXData
from cxresearch.features.cache import SharedTables
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.sampling import Sample, sample_customers

LOGIT, BOOSTING = "logistic regression", "gradient boosting"


@dataclass
class ChurnEvaluation:
    """Predictions of several models for the same customers, with discrimination, calibration and lift."""

    y: np.ndarray
    predictions: dict[str, np.ndarray]
    metrics: pd.DataFrame
    difference: pd.DataFrame
    design: str
    n_boot: int

    @property
    def event_rate(self) -> float:
        """Share (0-1) of evaluated customers who churned."""
        return float(self.y.mean())

    def summary(self) -> pd.DataFrame:
        """Per model: ROC-AUC, PR-AUC (with bootstrap 95% CIs), Brier score, calibration intercept/slope, ECE."""
        return self.metrics.copy()

    def roc(self, model: str) -> pd.DataFrame:
        """ROC curve of `model`: false and true positive rates (0-1)."""
        fpr, tpr, _ = roc_curve(self.y, self.predictions[model])
        return pd.DataFrame({"fpr": fpr, "tpr": tpr})

    def precision_recall(self, model: str) -> pd.DataFrame:
        """Precision-recall curve of `model` (0-1), customers ranked by predicted risk."""
        order = np.argsort(-self.predictions[model], kind="stable")
        hits = np.cumsum(self.y[order])
        k = np.arange(1, len(order) + 1)
        return pd.DataFrame({"recall": hits / max(self.y.sum(), 1), "precision": hits / k})

    def calibration(self, model: str, bins: int = 10) -> pd.DataFrame:
        """Per risk-decile bin: mean predicted and observed churn (0-1), n, and a Wilson 95% CI of observed."""
        prob = self.predictions[model]
        edges = np.unique(np.quantile(prob, np.linspace(0, 1, bins + 1)))
        group = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, len(edges) - 2)
        frame = pd.DataFrame({"bin": group, "p": prob, "y": self.y})
        out = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size"))
        z = stats.norm.ppf(0.975)
        centre = (out["observed"] + z**2 / (2 * out["n"])) / (1 + z**2 / out["n"])
        half = z / (1 + z**2 / out["n"]) * np.sqrt(out["observed"] * (1 - out["observed"]) / out["n"]
                                                   + z**2 / (4 * out["n"] ** 2))
        return out.assign(observed_low=centre - half, observed_high=centre + half)

    def gains(self, model: str, groups: int = 10) -> pd.DataFrame:
        """Per decile of predicted risk (1 = riskiest): customers, churners, cumulative % of churners, lift."""
        order = np.argsort(-self.predictions[model], kind="stable")
        decile = np.arange(len(order)) * groups // len(order) + 1
        frame = pd.DataFrame({"decile": decile, "y": self.y[order]})
        out = frame.groupby("decile").agg(customers=("y", "size"), churners=("y", "sum"))
        out["churn_pct"] = 100 * out["churners"] / out["customers"]
        out["cum_customers_pct"] = 100 * out["customers"].cumsum() / out["customers"].sum()
        out["cum_churners_pct"] = 100 * out["churners"].cumsum() / max(out["churners"].sum(), 1)
        out["lift"] = out["churn_pct"] / (100 * self.event_rate)
        out["cum_lift"] = out["cum_churners_pct"] / out["cum_customers_pct"]
        return out

    def comparison_finding(self) -> str:
        """The boosting-minus-logit ROC-AUC difference in words, named by the evaluation design."""
        row = self.difference.query("metric == 'roc_auc'").iloc[0]
        return (f"{self.design[:1].upper()}{self.design[1:]}, {row.comparison.split(' minus ')[0]} vs "
                f"{row.comparison.split(' minus ')[1]}: ROC-AUC difference {row.difference:+.3f} "
                f"(95% CI {row.ci_low:+.3f} to {row.ci_high:+.3f}).")

    def to_estimates(self, prefix: str = "churn_holdout") -> dict[str, Estimate]:
        """ROC-AUC and PR-AUC of each model with bootstrap CIs, keyed `<prefix>_<metric>_<model key>`."""
        out = {}
        for model, row in self.metrics.iterrows():
            key = "logit" if model == LOGIT else "boosting" if model == BOOSTING else str(model)
            for metric, label in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC")):
                out[f"{prefix}_{metric}_{key}"] = Estimate(
                    float(row[metric]), "", f"{label} of {model}, {self.design}",
                    float(row[f"{metric}_low"]), float(row[f"{metric}_high"]), len(self.y),
                    f"95% CI: percentile bootstrap, {self.n_boot} resamples",
                )
        return out


def calibration_intercept_slope(y: np.ndarray, prob: np.ndarray) -> tuple[float, float]:
    """Calibration-in-the-large (intercept with the logit as offset) and slope (Cox 1958); ideal 0 and 1.

    Parameters
    ----------
    y, prob
        Outcome (0/1) and predicted probabilities.

    Returns
    -------
    tuple of float
        Intercept (log odds) and slope.
    """
    logit = special.logit(np.clip(prob, 1e-9, 1 - 1e-9))
    intercept = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=logit).fit().params[0]
    if np.ptp(logit) == 0:  # one prediction for everyone: no slope to estimate
        return float(intercept), float("nan")
    slope = sm.GLM(y, sm.add_constant(logit, has_constant="add"), family=sm.families.Binomial()).fit().params[1]
    return float(intercept), float(slope)


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Mean |observed - predicted| churn over equal-size risk bins, weighted by bin size (0-1).

    Parameters
    ----------
    y, prob
        Outcome (0/1) and predicted probabilities.
    bins
        Equal-size risk bins.

    Returns
    -------
    float
        The expected calibration error (0-1).
    """
    order = np.argsort(prob, kind="stable")
    parts = np.array_split(order, bins)
    return float(sum(len(p) * abs(y[p].mean() - prob[p].mean()) for p in parts if len(p)) / len(y))


def evaluate_predictions(
    y: np.ndarray, predictions: dict[str, np.ndarray], design: str, n_boot: int = 200, seed: int = 0
) -> ChurnEvaluation:
    """Discrimination (ROC-AUC, PR-AUC = average precision) with paired percentile-bootstrap 95% CIs, Brier
    score and calibration for each model's predicted churn probabilities on the same customers.

    Parameters
    ----------
    y
        Outcome (0/1).
    predictions
        Predicted probabilities by model name, for the same customers.
    design
        How the predictions were made ("out-of-time holdout", "cross-validated").
    n_boot, seed
        Bootstrap resamples and their seed.

    Returns
    -------
    ChurnEvaluation
        Metrics with CIs, their paired differences and the curves.
    """
    y = np.asarray(y, dtype=int)
    if y.min() == y.max():
        raise ValueError("cannot evaluate: every evaluated customer has the same outcome")
    rng = np.random.default_rng(seed)
    names = list(predictions)
    ranked = {name: _RankedScores(y, np.asarray(predictions[name], dtype=float)) for name in names}
    boot = {name: {"roc_auc": [], "pr_auc": []} for name in names}
    draws = 0
    while draws < n_boot:
        weights = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)).astype(float)
        if weights[y == 1].sum() == 0 or weights[y == 0].sum() == 0:
            continue
        draws += 1
        for name in names:
            roc, pr = ranked[name].metrics(weights)
            boot[name]["roc_auc"].append(roc)
            boot[name]["pr_auc"].append(pr)
    rows = {}
    for name in names:
        prob = np.asarray(predictions[name], dtype=float)
        intercept, slope = calibration_intercept_slope(y, prob)
        row = {"roc_auc": roc_auc_score(y, prob), "pr_auc": average_precision_score(y, prob)}
        for metric in ("roc_auc", "pr_auc"):
            row[f"{metric}_low"], row[f"{metric}_high"] = np.percentile(boot[name][metric], [2.5, 97.5])
        row.update(brier=brier_score_loss(y, prob), calibration_intercept=intercept, calibration_slope=slope,
                   ece=expected_calibration_error(y, prob), mean_predicted=prob.mean(), observed=y.mean())
        rows[name] = row
    metrics = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    diffs = []
    for other in names[1:]:
        for metric in ("roc_auc", "pr_auc"):
            d = np.asarray(boot[other][metric]) - np.asarray(boot[names[0]][metric])
            diffs.append({"comparison": f"{other} minus {names[0]}", "metric": metric,
                          "difference": metrics.loc[other, metric] - metrics.loc[names[0], metric],
                          "ci_low": np.percentile(d, 2.5), "ci_high": np.percentile(d, 97.5)})
    difference = pd.DataFrame(diffs, columns=["comparison", "metric", "difference", "ci_low", "ci_high"])
    return ChurnEvaluation(y, {k: np.asarray(v, dtype=float) for k, v in predictions.items()}, metrics,
                           difference, design, n_boot)


class _RankedScores:
    """Scores sorted once, so that ROC-AUC and average precision of a bootstrap resample (given as case
    weights) cost O(n): the resample only changes how much each tied-score group weighs."""

    def __init__(self, y: np.ndarray, score: np.ndarray) -> None:
        order = np.argsort(-score, kind="stable")
        self.y = y[order]
        sorted_score = score[order]
        self.starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
        self.order = order

    def metrics(self, weights: np.ndarray) -> tuple[float, float]:
        """(ROC-AUC, average precision) with case `weights`; equals scikit-learn's with sample_weight."""
        w = weights[self.order]
        pos = np.add.reduceat(w * self.y, self.starts)
        neg = np.add.reduceat(w * (1 - self.y), self.starts)
        total_pos, total_neg = pos.sum(), neg.sum()
        neg_above = np.cumsum(neg) - neg  # negatives scored strictly higher than each group
        auc = 1.0 - float(np.sum(pos * (neg_above + 0.5 * neg))) / (total_pos * total_neg)
        tp, fp = np.cumsum(pos), np.cumsum(neg)
        precision = tp / np.maximum(tp + fp, 1e-300)
        ap = float(np.sum(pos / total_pos * precision))
        return auc, ap


def compare_models(
    train: pd.DataFrame, test: pd.DataFrame, design: str, n_boot: int = 200, seed: int = 0,
    exclude: Sequence[str] = (),
) -> tuple[ChurnEvaluation, BoostingModel]:
    """Fit the logistic and the boosting model on `train`, evaluate both on `test` (active customers); the
    `exclude`d (leaking) columns enter neither.

    Parameters
    ----------
    train, test
        Snapshots to fit on and to evaluate on.
    design
        The evaluation's design, for its label.
    n_boot, seed
        Bootstrap resamples and their seed.
    exclude
        Leaking columns to leave out.

    Returns
    -------
    tuple
        The evaluation and the fitted boosting model.
    """
    features, categorical = model_columns(train, exclude=exclude)
    logit = fit_churn_logit(train, features, categorical, exclude=exclude)
    kept = [c for c in features if c not in logit.dropped_for_leakage]
    kept_cat = [c for c in categorical if c not in logit.dropped_for_leakage]
    boosting = fit_boosting(train, kept, kept_cat, seed)
    predictions = {LOGIT: logit.predict_proba(test), BOOSTING: boosting.predict_proba(test)}
    y = test["churned"].astype(int).to_numpy()
    return evaluate_predictions(y, predictions, design, n_boot, seed), boosting


def _fold_predictions(
    snapshot: pd.DataFrame, folds: int, seed: int, exclude: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]:
    """Active customers, their outcome, and each model's out-of-fold churn probability (stratified k-fold)."""
    data = snapshot[snapshot["active"].eq(True)].reset_index(drop=True)
    features, categorical = model_columns(data, exclude=exclude)
    y = data["churned"].astype(int).to_numpy()
    folds = min(folds, int(y.sum()), int(len(y) - y.sum()))
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 churners and 2 stayers ({int(y.sum())} churned "
                         f"of {len(y)})")
    predictions = {LOGIT: np.full(len(y), np.nan), BOOSTING: np.full(len(y), np.nan)}
    fold_of = np.zeros(len(y), dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (tr, te) in enumerate(splitter.split(data, y), start=1):
        logit = fit_churn_logit(data.iloc[tr], features, categorical, exclude=exclude)
        kept = [c for c in features if c not in logit.dropped_for_leakage]
        kept_cat = [c for c in categorical if c not in logit.dropped_for_leakage]
        boosting = fit_boosting(data.iloc[tr], kept, kept_cat, seed)
        test = data.iloc[te]
        predictions[LOGIT][te] = logit.predict_proba(test)
        predictions[BOOSTING][te] = boosting.predict_proba(test)
        fold_of[te] = fold
    return data.assign(fold=fold_of), y, predictions


def cross_validate(snapshot: pd.DataFrame, folds: int = 5, seed: int = 0, exclude: Sequence[str] = ()) -> pd.DataFrame:
    """Stratified k-fold ROC-AUC and PR-AUC of both models on one snapshot: per fold, then mean and SD.

    The `exclude`d (leaking) columns enter no fold's models.

    Parameters
    ----------
    snapshot
        One row per customer with `active` and `churned`.
    folds, seed
        Folds and the seed of their assignment.
    exclude
        Leaking columns to leave out.

    Returns
    -------
    pandas.DataFrame
        ROC-AUC and PR-AUC per model: per fold, mean and SD.
    """
    data, y, predictions = _fold_predictions(snapshot, folds, seed, exclude)
    rows = []
    for fold in sorted(data["fold"].unique()):
        held = data["fold"].to_numpy() == fold
        for name, prob in predictions.items():
            rows.append({"fold": fold, "model": name, "roc_auc": roc_auc_score(y[held], prob[held]),
                         "pr_auc": average_precision_score(y[held], prob[held])})
    per_fold = pd.DataFrame(rows)
    return per_fold.groupby("model")[["roc_auc", "pr_auc"]].agg(["mean", "std"])


def cross_validated_evaluation(
    snapshot: pd.DataFrame, folds: int = 5, n_boot: int = 200, seed: int = 0, exclude: Sequence[str] = ()
) -> tuple[ChurnEvaluation, BoostingModel]:
    """Both models judged on out-of-fold predictions (each customer scored by models not trained on them).

    The evaluation when there is no out-of-time holdout (flat data, short histories): honest about new customers
    drawn from the same period, silent about drift over time. Returns it with a boosting model fitted on all
    customers (for importance and partial dependence); its design says "cross-validated".

    Parameters
    ----------
    snapshot
        One row per customer with `active` and `churned`.
    folds, n_boot, seed
        Folds, bootstrap resamples and their seed.
    exclude
        Leaking columns to leave out.

    Returns
    -------
    tuple
        The evaluation and the boosting model fitted on all customers.
    """
    data, y, predictions = _fold_predictions(snapshot, folds, seed, exclude)
    n_folds = int(data["fold"].max())
    design = f"cross-validated ({n_folds}-fold, out-of-fold predictions)"
    features, categorical = model_columns(data, exclude=exclude)
    logit = fit_churn_logit(data, features, categorical, exclude=exclude)
    boosting = fit_boosting(data, [c for c in features if c not in logit.dropped_for_leakage],
                            [c for c in categorical if c not in logit.dropped_for_leakage], seed)
    return evaluate_predictions(y, predictions, design, n_boot, seed), boosting


@dataclass
class ModelComparison:
    """How the predictive models were judged on this data: the evaluation (None when impossible), the boosting
    model it produced, the out-of-time samples (None when cross-validated) and what could not be done, as
    (analysis, reason, missing input) for `Results.skip`."""

    evaluation: ChurnEvaluation | None
    boosting: BoostingModel | None
    train: Sample | None = None
    test: Sample | None = None
    skipped: list[tuple[str, str, str]] = field(default_factory=list)

    def samples(self) -> list[tuple[str, Sample]]:
        """(analysis, sample) of the out-of-time holdout's training and evaluation customers, when it ran."""
        return [(f"out-of-time holdout, {part}", sample)
                for part, sample in (("training", self.train), ("evaluation", self.test)) if sample is not None]


def judge_models(
    data: CXData, snap: pd.DataFrame | None, refit: pd.DataFrame, as_of: str | None, window_months: int,
    horizon_months: float | None, folds: int = 5, n_boot: int = 200, seed: int = 0, exclude: Sequence[str] = (),
    max_customers: int | None = None, cache: SharedTables | None = None,
) -> ModelComparison:
    """Out-of-time holdout when the data allows one (`out_of_time_snapshots`, on at most `max_customers`
    sampled customers), else out-of-fold predictions on `refit` (`cross_validated_evaluation`), labelled so.

    Flat data has one date and a short history no earlier snapshot: both fall back to cross-validation, and the
    holdout's skip names the missing input ("event dates", "more history").

    Parameters
    ----------
    data, snap
        The validated data and the snapshot at `as_of` (None when there is none).
    refit
        Customers for the cross-validated fallback.
    as_of, window_months, horizon_months
        The snapshot's date and windows (months).
    folds, n_boot, seed
        Folds, bootstrap resamples and their seed.
    exclude
        Leaking columns to leave out.
    max_customers
        Customers the holdout fits and scores on at most (None = all).
    cache
        A suite run's shared tables, passed on to the snapshots (None: none).

    Returns
    -------
    ModelComparison
        The evaluation, the boosting model, the samples and what was skipped.
    """
    skipped = []
    try:
        # flat data (horizon None: the churn flag's own period) is refused here, before the horizon is used
        train, test = out_of_time_snapshots(data, as_of or None, window_months, int(horizon_months or 0), test=snap,
                                            cache=cache)
        train, test = sample_customers(train, max_customers, seed), sample_customers(test, max_customers, seed)
        evaluation, boosting = compare_models(train.frame, test.frame, "out-of-time holdout", n_boot, seed, exclude)
        return ModelComparison(evaluation, boosting, train, test)
    except ValueError as error:
        skipped.append(("out-of-time holdout", f"not possible on this data: {error}",
                        "event dates" if data.shape == "flat" else "more history"))
    try:
        evaluation, boosting = cross_validated_evaluation(refit, folds, n_boot, seed, exclude)
    except ValueError as error:
        skipped.append(("cross-validated evaluation", str(error), "churners"))
        evaluation = boosting = None
    return ModelComparison(evaluation, boosting, skipped=skipped)
