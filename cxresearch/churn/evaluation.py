"""Predictive churn models and their evaluation: out-of-time holdout, cross-validation, discrimination,
calibration, lift and expected maximum profit (EMPC).

References: Verbraken, Verbeke & Baesens (2013), "A novel profit maximizing metric for measuring
classification performance of customer churn prediction models", IEEE TKDE 25(5):961-973 (EMPC);
Van Calster et al. (2019), "Calibration: the Achilles heel of predictive analytics", BMC Medicine 17:230
(calibration intercept and slope); Hanley & McNeil (1982) and Efron & Tibshirani (1993) for AUC uncertainty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from cxresearch.churn.logit import DEFAULT_CATEGORICAL, default_features, fit_churn_logit
from cxresearch.data.schema import CXData
from cxresearch.features.snapshot import snapshot as make_snapshot
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.sampling import Sample, sample_customers

LOGIT, BOOSTING = "logistic regression", "gradient boosting"


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
    fits down many-fold, and with one thread the boosting model is exactly reproducible."""
    return threadpool_limits(limits=1, user_api="openmp")


def model_columns(
    snapshot: pd.DataFrame, features: list[str] | None = None, categorical: list[str] | None = None,
    exclude: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Default numeric and categorical model columns present in `snapshot` with some variation, less the
    `exclude`d ones (columns a `LeakageScreen` flagged)."""
    def usable(column: str) -> bool:
        return column in snapshot and column not in exclude and snapshot[column].nunique() > 1

    return ([c for c in (features or default_features(snapshot)) if usable(c)],
            [c for c in (categorical or DEFAULT_CATEGORICAL) if usable(c)])


#: Smallest leaf of the boosting trees on large data (customers); small data gets `min_leaf`.
MIN_LEAF = 200


def min_leaf(n: int) -> int:
    """Smallest leaf (customers) for `n` training customers: 200, but at most 5% of them (at least 10), so that
    a few hundred customers still allow a split instead of one constant prediction."""
    return max(10, min(MIN_LEAF, n // 20))


def fit_boosting(
    snapshot: pd.DataFrame, features: list[str], categorical: list[str], seed: int = 0
) -> BoostingModel:
    """Gradient-boosted trees (scikit-learn HistGradientBoosting, Ke et al. 2017 style) on active customers.

    Depth-2 trees (two-way interactions at most), a small learning rate, large leaves and L2 regularisation:
    churn signals are weak, and deeper trees overfit (calibration slope well below 1 on the demo world's
    holdout). Missing survey scores are routed by the trees, so no imputation is needed. No class weights:
    predicted probabilities stay calibrated.
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


def out_of_time_snapshots(
    data: CXData, as_of: str | pd.Timestamp | None, window_months: int = 3, horizon_months: int = 3,
    test: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and test snapshots (active customers): training `horizon_months` before the test `as_of`.

    The training labels end exactly at the test `as_of`, so a model trained on them could have been built on
    that day and used to score the test customers: no information from the test window leaks into training.
    `test`: the snapshot at `as_of` with these windows when the caller has it already (saves rebuilding it).
    Raises ValueError on flat data (one date only: there is no earlier snapshot) and when the training
    snapshot's feature window would begin before observation did (its counts would be truncated).
    """
    if data.shape == "flat":
        raise ValueError("flat data describes one date only, so there is no earlier snapshot to train on")
    if test is None:
        test = make_snapshot(data, as_of=as_of, window_months=window_months, horizon_months=horizon_months)
    test_as_of = pd.Timestamp(test.attrs["as_of"])
    train_window = test_as_of - pd.DateOffset(months=horizon_months + window_months)
    start = observation_start(data)
    if train_window < start:
        raise ValueError(
            f"the training snapshot's {window_months}-month feature window would begin {train_window.date()}, "
            f"before observation began ({start.date()}): an out-of-time holdout needs {window_months} + "
            f"2 x {horizon_months} months of history, the data has {months_between(start, data.observed_until)}"
        )
    train = make_snapshot(data, as_of=test_as_of - pd.DateOffset(months=horizon_months),
                          window_months=window_months, horizon_months=horizon_months)
    return train[train["active"]].reset_index(drop=True), test[test["active"]].reset_index(drop=True)


def observation_start(data: CXData) -> pd.Timestamp:
    """When observation began: `metadata["observed_from"]`, else the first contact or survey, else the first
    sign-up (the earliest date event counts can cover)."""
    if data.metadata.get("observed_from"):
        return pd.Timestamp(data.metadata["observed_from"])
    starts = [df["timestamp"].min() for df in (data.contacts, data.surveys) if len(df)]
    return pd.Timestamp(min(starts) if starts else data.customers["signup_date"].min())


def months_between(start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Whole calendar months from `start` to `end` (a day short of a month does not count)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


@dataclass(frozen=True)
class Windows:
    """Feature window and prediction horizon (months) a snapshot uses, and what was changed to fit the data."""

    window_months: int
    horizon_months: float | None
    observed_months: int | None
    note: str = ""

    @property
    def adapted(self) -> bool:
        """Whether the requested windows were changed to fit the data."""
        return bool(self.note)

    @property
    def horizon_words(self) -> str:
        """The prediction horizon in words: "within the next 3 months", or the flat churn flag's unknown period."""
        if self.horizon_months is None:
            return "in the period the churn flag covers (not documented)"
        return f"within the next {self.horizon_months:g} month{'s' if self.horizon_months != 1 else ''}"


def fit_windows(data: CXData, window_months: int = 3, horizon_months: int = 3) -> Windows:
    """The requested feature window and horizon, shortened when the observed history holds fewer months than
    both need (the horizon keeps at least 1 month, the window the rest), with a sentence saying what was chosen.

    Flat data has no windows (one date): its horizon is the period the churn flag covers
    (`metadata["churn_period_months"]`, None when undocumented), whatever was requested. Raises ValueError when
    fewer than 2 months were observed (no window and horizon fit at all).
    """
    if data.shape == "flat":
        period = data.metadata.get("churn_period_months")
        period = float(period) if period else None
        if period == horizon_months:
            return Windows(window_months, period, None)
        stated = "covers a period the data does not document"
        if period:
            stated = f"covers {period:g} month{'s' if period != 1 else ''} (the data's stated churn period)"
        return Windows(window_months, period, None, f"Flat data: the churn flag {stated}, so that is the horizon "
                       f"here, not the {horizon_months}-month horizon_months parameter.")
    months = months_between(observation_start(data), data.observed_until)
    if window_months + horizon_months <= months:
        return Windows(window_months, horizon_months, months)
    if months < 2:
        raise ValueError(f"only {months} whole month(s) observed: a snapshot needs at least 1 month of features "
                         "and 1 month to see who leaves")
    horizon = max(1, min(horizon_months, months // 2))
    window = max(1, min(window_months, months - horizon))
    return Windows(window, horizon, months, (
        f"The data covers {months} months, fewer than the {window_months}-month feature window plus the "
        f"{horizon_months}-month prediction horizon requested: {window} months of features and a {horizon}-month "
        "horizon are used instead."))


def fit_lookback(data: CXData, cutoff: pd.Timestamp, lookback_months: int) -> tuple[int, str]:
    """Months of survey answers before `cutoff` to summarise: `lookback_months`, or fewer when observation began
    later (at least 1), with a sentence saying so ('' when unchanged)."""
    if data.shape == "flat":
        return lookback_months, ""
    available = max(1, months_between(observation_start(data), pd.Timestamp(cutoff)))
    if available >= lookback_months:
        return lookback_months, ""
    return available, (f"Only {available} months of answers precede {pd.Timestamp(cutoff).date()}: the metrics "
                       f"cover those {available} months instead of the {lookback_months} requested.")


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
    """Calibration-in-the-large (intercept with the logit as offset) and slope (Cox 1958); ideal 0 and 1."""
    logit = special.logit(np.clip(prob, 1e-9, 1 - 1e-9))
    intercept = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=logit).fit().params[0]
    if np.ptp(logit) == 0:  # one prediction for everyone: no slope to estimate
        return float(intercept), float("nan")
    slope = sm.GLM(y, sm.add_constant(logit, has_constant="add"), family=sm.families.Binomial()).fit().params[1]
    return float(intercept), float(slope)


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Mean |observed - predicted| churn over equal-size risk bins, weighted by bin size (0-1)."""
    order = np.argsort(prob, kind="stable")
    parts = np.array_split(order, bins)
    return float(sum(len(p) * abs(y[p].mean() - prob[p].mean()) for p in parts if len(p)) / len(y))


def evaluate_predictions(
    y: np.ndarray, predictions: dict[str, np.ndarray], design: str, n_boot: int = 200, seed: int = 0
) -> ChurnEvaluation:
    """Discrimination (ROC-AUC, PR-AUC = average precision) with paired percentile-bootstrap 95% CIs, Brier
    score and calibration for each model's predicted churn probabilities on the same customers."""
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
    `exclude`d (leaking) columns enter neither."""
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
    max_customers: int | None = None,
) -> ModelComparison:
    """Out-of-time holdout when the data allows one (`out_of_time_snapshots`, on at most `max_customers`
    sampled customers), else out-of-fold predictions on `refit` (`cross_validated_evaluation`), labelled so.

    Flat data has one date and a short history no earlier snapshot: both fall back to cross-validation, and the
    holdout's skip names the missing input ("event dates", "more history").
    """
    skipped = []
    try:
        # flat data (horizon None: the churn flag's own period) is refused here, before the horizon is used
        train, test = out_of_time_snapshots(data, as_of or None, window_months, int(horizon_months or 0), test=snap)
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


# --- expected maximum profit (Verbraken, Verbeke & Baesens 2013) ---------------------------------------

@dataclass
class CampaignParameters:
    """Retention campaign: CLV of a retained churner, incentive cost d, contact cost f (currency per
    customer), and the acceptance rate of the incentive among would-be churners ~ Beta(alpha, beta)."""

    clv: float = 200.0
    incentive: float = 10.0
    contact: float = 1.0
    alpha: float = 6.0
    beta: float = 14.0

    def __post_init__(self) -> None:
        if self.clv <= 0 or self.incentive < 0 or self.contact < 0 or self.alpha <= 0 or self.beta <= 0:
            raise ValueError("need clv > 0, incentive >= 0, contact >= 0 and alpha, beta > 0")
        if self.incentive >= self.clv:
            raise ValueError("the incentive must cost less than the CLV it retains")


@dataclass
class EMPCResult:
    """Expected maximum profit per customer (currency), the fraction to target, and the profit curve."""

    empc: float
    fraction: float
    curve: pd.DataFrame
    parameters: CampaignParameters
    n: int

    def summary(self) -> pd.DataFrame:
        """EMPC per customer, for the whole scored base, and the profit-maximising fraction targeted (%)."""
        return pd.DataFrame({
            "value": [self.empc, self.empc * self.n, 100 * self.fraction],
            "unit": ["currency per customer", "currency", "%"],
        }, index=pd.Index(["empc", "empc_total", "fraction_targeted_pct"], name="quantity"))

    def to_estimates(self, prefix: str = "empc") -> dict[str, Estimate]:
        """EMPC per customer and the profit-maximising share to target."""
        p = self.parameters
        note = (f"CLV {p.clv:g}, incentive {p.incentive:g}, contact {p.contact:g}, "
                f"acceptance ~ Beta({p.alpha:g}, {p.beta:g})")
        return {
            prefix: Estimate(self.empc, "currency per customer", "Expected maximum profit of a retention "
                             "campaign (EMPC)", n=self.n, note=note),
            f"{prefix}_fraction": Estimate(100 * self.fraction, "%", "Profit-maximising share of customers "
                                           "to target", n=self.n, note=note),
        }


def _convex_hull(fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """Indices of the ROC points on the upper convex hull, from (0, 0) to (1, 1)."""
    hull: list[int] = []
    for i in range(len(fpr)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (fpr[b] - fpr[a]) * (tpr[i] - tpr[a]) - (tpr[b] - tpr[a]) * (fpr[i] - fpr[a])
            if cross >= 0:  # b lies on or below the segment a-i: not on the upper hull
                hull.pop()
            else:
                break
        hull.append(i)
    return np.asarray(hull)


def empc(y: np.ndarray, prob: np.ndarray, parameters: CampaignParameters | None = None) -> EMPCResult:
    """Expected maximum profit for churn (Verbraken, Verbeke & Baesens 2013) and the fraction to target.

    Targeting the customers above a score threshold, with churn share pi0 and F0, F1 the shares of churners
    and non-churners targeted, the profit per customer is
    ``CLV [(gamma (1 - delta) - phi) pi0 F0 - (delta + phi) pi1 F1]`` with delta = d / CLV, phi = f / CLV and
    gamma the acceptance rate. For each gamma the best threshold is a vertex of the ROC convex hull; EMPC
    integrates that maximum over gamma ~ Beta(alpha, beta), segment by segment in closed form.
    """
    p = parameters or CampaignParameters()
    y = np.asarray(y, dtype=int)
    fpr, tpr, _ = roc_curve(y, prob, drop_intermediate=False)
    hull = _convex_hull(fpr, tpr)
    f0, f1 = tpr[hull], fpr[hull]
    pi0 = float(y.mean())
    pi1 = 1.0 - pi0
    delta, phi = p.incentive / p.clv, p.contact / p.clv
    # Profit of hull vertex i at acceptance gamma is a_i gamma + b_i (per customer, in CLV units).
    a = (1.0 - delta) * pi0 * f0
    b = -phi * pi0 * f0 - (delta + phi) * pi1 * f1
    # Vertex i+1 beats vertex i once gamma exceeds the crossing point; crossings increase along the hull.
    da = np.diff(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(da > 0, (b[:-1] - b[1:]) / da, np.inf)
    bounds = np.clip(np.concatenate([[0.0], crossing, [1.0]]), 0.0, 1.0)
    bounds = np.maximum.accumulate(bounds)
    low, high = bounds[:-1], bounds[1:]
    mass = stats.beta.cdf(high, p.alpha, p.beta) - stats.beta.cdf(low, p.alpha, p.beta)
    mean = p.alpha / (p.alpha + p.beta)
    first_moment = mean * (stats.beta.cdf(high, p.alpha + 1, p.beta) - stats.beta.cdf(low, p.alpha + 1, p.beta))
    value = p.clv * float(np.sum(a * first_moment + b * mass))
    fraction = float(np.sum(mass * (pi0 * f0 + pi1 * f1)))
    # Expected profit when targeting the top share of customers, at the mean acceptance rate (profit is
    # linear in gamma, so this is the expectation over gamma for a fixed share).
    order = np.argsort(-np.asarray(prob), kind="stable")
    churners = np.concatenate([[0], np.cumsum(y[order])])
    targeted = np.arange(len(y) + 1)
    n = len(y)
    profit = (p.clv * (mean * (1 - delta) - phi) * churners - (p.incentive + p.contact) * (targeted - churners)) / n
    curve = pd.DataFrame({"fraction": targeted / n, "profit": profit})
    return EMPCResult(value, fraction, curve, p, n)


def class_balance(y: np.ndarray) -> dict[str, float]:
    """Churn share, the accuracy of predicting nobody churns, and the no-skill PR-AUC (all 0-1)."""
    share = float(np.mean(y))
    return {"churn_share": share, "accuracy_of_no_churn": 1.0 - share, "no_skill_pr_auc": share}
