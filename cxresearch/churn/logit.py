"""Explanatory churn model: logistic regression of churn within the prediction window on CX drivers.

Reactive contacts and their resolution enter as two counts, `reactive_90d` (every customer-initiated contact)
and `unresolved_90d` (those not resolved at first contact). Because unresolved = reactive x (1 - FCR rate),
the `unresolved_90d` term *is* the reactive x unresolved interaction: exp(b_reactive) is the odds ratio of one
more contact that was resolved first time, exp(b_reactive + b_unresolved) of one that was not, and
exp(-b_unresolved) what first-contact resolution is worth per contact (`contact_effects`). A separate
`fcr_rate_90d` main effect would be undefined without contacts and redundant given the two counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from cxresearch.churn.columns import (
    DEFAULT_CATEGORICAL,
    DEFAULT_FEATURES,
    FEATURE_LABELS,
    default_features,
    feature_label,
)
from cxresearch.churn.design import INTERCEPT, logit_design, logit_design_like, select_columns
from cxresearch.churn.estimation import fit_firth_logit, fit_ml_logit, in_sample_auc
from cxresearch.churn.leakage import LEAKAGE_AUC, single_feature_auc
from cxresearch.data.schema import CXData
from cxresearch.features.snapshot import snapshot
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95, wilson_pct
from cxresearch.stats.multiplicity import holm
from cxresearch.stats.sampling import Sample, sample_customers

#: Churn share (0-1) below which (or above 1 minus which) the classes count as heavily imbalanced.
IMBALANCE_SHARE = 0.05


@dataclass
class ChurnLogitResult:
    """A fitted churn logit: per-term odds ratios with 95% CIs, sample sizes, in-sample AUC and notes."""

    coefficients: pd.DataFrame
    n: int
    n_events: int
    auc: Estimate
    method: str
    notes: list[str] = field(default_factory=list)
    reference_levels: dict[str, str] = field(default_factory=dict)
    centers: dict[str, float] = field(default_factory=dict)
    covariance: pd.DataFrame | None = None
    leakage: pd.DataFrame | None = None
    dropped_for_leakage: list[str] = field(default_factory=list)

    @property
    def event_rate(self) -> float:
        """Share (0-1) of modelled customers who churned within the prediction window."""
        return self.n_events / self.n

    def summary(self) -> pd.DataFrame:
        """Per term: label, coef (log-odds), se, odds_ratio, or_ci_low, or_ci_high, p_value (Wald)."""
        return self.coefficients.copy()

    def odds_ratio(self, term: str) -> Estimate:
        """Odds ratio of churn for one term (per unit, or vs the reference level) with its 95% CI."""
        if term not in self.coefficients.index:
            raise KeyError(f"no term {term!r}; terms are {list(self.coefficients.index)}")
        row = self.coefficients.loc[term]
        note = f"p = {row.p_value:.3g}; {self.method}"
        return Estimate(
            float(row.odds_ratio),
            "ratio",
            f"Odds ratio of churn: {row.label}",
            float(row.or_ci_low),
            float(row.or_ci_high),
            self.n,
            note,
        )

    def driver_tests(self, alpha: float = 0.05) -> pd.DataFrame:
        """The CX drivers' odds ratios judged together: Holm-adjusted p-values and CIs at each one's Holm level.

        Controls (tenure, segments) and missing-score indicators are adjustments, not CX findings, and are left
        out of the family. Per driver: label, odds_ratio with its 95% CI, `p_value` (Wald), `p_adjusted`
        (Holm 1979), the confidence `level` of the adjusted CI and that CI (`adj_ci_low`, `adj_ci_high`), and
        `significant` (adjusted p below `alpha`, so the adjusted CI excludes 1). Holm rather than
        Benjamini-Hochberg for the reasons `cxresearch.loyalty.claims` gives: each finding is read on its own, the family
        is small, and the drivers' estimates are correlated (reactive and unresolved counts) in ways Holm needs no
        assumption about.
        """

        drivers = [t for t in self.coefficients.index if t in FEATURE_LABELS and t != "tenure_months"]
        table = self.coefficients.loc[drivers, ["label", "coef", "se", "odds_ratio", "or_ci_low", "or_ci_high",
                                                "p_value"]].copy()
        adjusted, levels = holm(table["p_value"].to_numpy(float), alpha)
        z = stats.norm.ppf(1.0 - levels / 2.0)
        table["p_adjusted"], table["level"] = adjusted, 1.0 - levels
        table["adj_ci_low"] = np.exp(table["coef"] - z * table["se"])
        table["adj_ci_high"] = np.exp(table["coef"] + z * table["se"])
        table["significant"] = table["p_adjusted"] < alpha
        return table.drop(columns=["coef", "se"])

    def findings(self, alpha: float = 0.05) -> list[str]:
        """Plain-words sentences for the CX drivers whose odds ratio differs from 1 after Holm's adjustment over
        the drivers (family-wise level `alpha`, see `driver_tests`), in association words: observational odds
        ratios say what goes with churn, not what causes it."""
        tests = self.driver_tests(alpha)
        significant = tests[tests["significant"]].sort_values("p_value")
        out = []
        for row in significant.itertuples():
            direction = "more" if row.odds_ratio > 1 else "less"
            p_words = "< 0.001" if row.p_adjusted < 0.001 else f"= {row.p_adjusted:.3g}"
            out.append(
                f"{row.label} goes with {direction} churn: odds ratio {row.odds_ratio:.2f} "
                f"(95% CI {row.or_ci_low:.2f} to {row.or_ci_high:.2f}; Holm-adjusted over {len(tests)} drivers, "
                f"p {p_words})."
            )
        if not out and not len(tests):
            out.append("The model holds no CX driver to test (only tenure and segments).")
        elif not out:
            out.append(f"No CX driver's odds ratio differs from 1 after Holm's adjustment over the {len(tests)} "
                       f"drivers (family-wise level {alpha:.0%}).")
        if self.dropped_for_leakage:
            # Without this, "no driver matters" reads as "satisfaction doesn't matter" when the score was excluded.
            left_out = ", ".join(feature_label(c) for c in self.dropped_for_leakage)
            out[-1] = out[-1][:-1] + f" ({left_out} left out: recorded after the churn decision, see leakage)."
        return out

    def predict_proba(self, snapshot: pd.DataFrame) -> np.ndarray:
        """Churn probability (0-1) within the prediction window for each row of `snapshot`, from the fit."""
        x = logit_design_like(snapshot, list(self.coefficients.index), self.centers, self.reference_levels)
        return special.expit(x @ self.coefficients["coef"].to_numpy())

    def contact_effects(self) -> pd.DataFrame:
        """Odds ratios per resolved contact, per unresolved contact, and of resolving a contact first time.

        Needs `reactive_90d` and `unresolved_90d` in the model; empty otherwise. CIs use the covariance of
        the two coefficients (Wald).
        """
        terms = ("reactive_90d", "unresolved_90d")
        if self.covariance is None or not all(t in self.coefficients.index for t in terms):
            return pd.DataFrame(columns=["label", "log_odds", "se", "odds_ratio", "or_ci_low", "or_ci_high"])
        b = self.coefficients.loc[list(terms), "coef"].to_numpy()
        cov = self.covariance.loc[list(terms), list(terms)].to_numpy()
        contrasts = {
            "resolved_contact": ("One more reactive contact, resolved at first contact", [1.0, 0.0]),
            "unresolved_contact": ("One more reactive contact, not resolved at first contact", [1.0, 1.0]),
            "first_contact_resolution": ("Resolving a contact at first contact (vs not)", [0.0, -1.0]),
        }
        rows = {}
        for key, (label, weights) in contrasts.items():
            w = np.asarray(weights)
            est, se = float(w @ b), float(np.sqrt(w @ cov @ w))
            rows[key] = {"label": label, "log_odds": est, "se": se, "odds_ratio": np.exp(est),
                         "or_ci_low": np.exp(est - Z95 * se), "or_ci_high": np.exp(est + Z95 * se)}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("effect")

    def to_estimates(self, prefix: str = "churn_logit") -> dict[str, Estimate]:
        """n, event rate (%), in-sample AUC and every non-intercept odds ratio, keyed `<prefix>_...`."""
        low, high = wilson_pct(self.n_events, self.n)
        out = {
            f"{prefix}_n": Estimate(float(self.n), "count", "Active customers modelled", n=self.n),
            f"{prefix}_event_rate": Estimate(
                100.0 * self.event_rate, "%", "Churned within the prediction window", low, high, self.n
            ),
            f"{prefix}_auc": self.auc,
        }
        for term in self.coefficients.index.drop(INTERCEPT):
            out[f"{prefix}_or_{term}"] = self.odds_ratio(term)
        return out


def fit_churn_logit(
    snapshot: pd.DataFrame,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    leakage_auc: float | None = LEAKAGE_AUC,
    exclude: Sequence[str] = (),
) -> ChurnLogitResult:
    """Logistic regression of churn within the prediction window on CX drivers, for customers active at as_of.

    Odds ratios are per one unit of each numeric feature (numerics are centred at their mean) and vs the
    most common level for categoricals (treatment coding). Missing numeric values keep the customer: the
    value is set to the mean and a ``<col>_missing`` indicator is added (pragmatic: when the missing score
    itself predicts churn, the other coefficients are slightly attenuated towards 0). Constant and collinear
    terms are dropped. If maximum likelihood meets separation or does not converge, the model is refitted
    with Firth's penalised likelihood. Every such decision is recorded in ``.notes``.

    Parameters
    ----------
    snapshot
        Per-customer snapshot with boolean `active` and `churned`.
    features
        Numeric columns; default `default_features(snapshot)` that exist in the snapshot.
    categorical
        Categorical columns; default `DEFAULT_CATEGORICAL` that exist in the snapshot.
    leakage_auc
        Drop (with a note) any column that alone predicts churn with ROC-AUC above this (leakage);
        None keeps every column.
    exclude
        Columns already found leaking (`screen_leakage` on the whole snapshot): dropped with a note even when
        this subset (a cross-validation fold, a resample) puts them just under `leakage_auc`.

    Returns
    -------
    ChurnLogitResult
        Odds ratios with Wald 95% CIs, the in-sample ROC-AUC, the fitting method and every decision as a note.

    References
    ----------
    Heinze & Schemper (2002), "A solution to the problem of separation in logistic regression", Statistics in
    Medicine 21:2409-2419 (Firth's penalised likelihood); Hanley & McNeil (1982), Radiology 143:29-36 (AUC CI).
    """
    for needed in ("active", "churned"):
        if needed not in snapshot.columns:
            raise ValueError(f"snapshot has no column {needed!r}")
    notes: list[str] = []
    defaults = features is None
    features = select_columns(snapshot, features, DEFAULT_FEATURES, "feature", notes)
    if defaults:
        features += [c for c in default_features(snapshot) if c not in DEFAULT_FEATURES]
    categorical = select_columns(snapshot, categorical, DEFAULT_CATEGORICAL, "categorical", notes)
    data = snapshot.loc[snapshot["active"].eq(True)]
    y = _outcome(data, notes)
    leakage = single_feature_auc(data, [*features, *categorical], y.astype(bool))
    leaking = _leaking_columns(leakage, exclude, leakage_auc, notes)
    features = [c for c in features if c not in leaking]
    categorical = [c for c in categorical if c not in leaking]
    design, labels, references, centers = logit_design(data, features, categorical, notes)
    x = design.to_numpy()
    params, cov, method = _fit(x, y, list(design.columns), notes)
    table = _coefficient_table(params, cov, [labels[c] for c in design.columns], design.columns)
    n_events = int(y.sum())
    events_per_term = n_events / (x.shape[1] - 1) if x.shape[1] > 1 else float("inf")
    if events_per_term < 10:
        notes.append(f"Only {events_per_term:.1f} events per term (< 10): estimates may be unstable.")
    prob = special.expit(x @ params)
    covariance = pd.DataFrame(cov, index=design.columns, columns=design.columns)
    return ChurnLogitResult(table, len(y), n_events, in_sample_auc(y, prob), method, notes, references, centers,
                            covariance, leakage, leaking)


def _outcome(data: pd.DataFrame, notes: list[str]) -> np.ndarray:
    """Churn (0/1) of the active customers; notes the sample and any heavy class imbalance."""
    if data["churned"].isna().any():
        raise ValueError(
            f"column 'churned' is missing for {int(data['churned'].isna().sum())} active customers"
        )
    y = data["churned"].astype(bool).to_numpy(dtype=float)
    n, n_events = len(y), int(y.sum())
    if n_events in (0, n):
        raise ValueError(f"cannot fit a churn model: {n_events} of {n} active customers churned")
    notes.append(
        f"Model of churn within the prediction window for the {n} customers active at as_of "
        f"({n_events} churned, {100 * n_events / n:.1f}%)."
    )
    if min(n_events, n - n_events) / n < IMBALANCE_SHARE:
        notes.append(
            f"Heavy class imbalance ({100 * n_events / n:.1f}% churned): odds ratios are unaffected (only the "
            "intercept reflects the base rate), so no re-sampling or re-weighting, which would distort "
            "predicted probabilities; judge prediction by PR-AUC, lift and profit, not accuracy."
        )
    return y


def _leaking_columns(
    leakage: pd.DataFrame, exclude: Sequence[str], leakage_auc: float | None, notes: list[str]
) -> list[str]:
    """Columns to drop: those already flagged (`exclude`) and, unless `leakage_auc` is None, those whose
    single-column ROC-AUC exceeds it; each with a note."""
    leaking = [c for c in leakage.index if c in exclude]
    for col in leaking:
        notes.append(f"Dropped {col}: flagged as leaking the outcome on the whole snapshot (recorded after the "
                     "churn decision), so it is left out of every churn model.")
    if leakage_auc is None:
        return leaking
    screened = [c for c in leakage.index[leakage["auc"] > leakage_auc] if c not in leaking]
    for col in screened:
        notes.append(
            f"Dropped {col}: on its own it separates churners from stayers almost perfectly (ROC-AUC "
            f"{leakage.loc[col, 'auc']:.3f} > {leakage_auc}), so it most likely records the outcome "
            "rather than predicting it (leakage)."
        )
    return leaking + screened


def _fit(x: np.ndarray, y: np.ndarray, names: list[str], notes: list[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """Coefficients, covariance and method: maximum likelihood, or Firth's fit (noted) when it meets problems."""
    params, cov, problems = fit_ml_logit(x, y, names)
    if not problems:
        return params, cov, "maximum likelihood logistic regression"
    params, cov, converged = fit_firth_logit(x, y)
    note = (
        f"Maximum likelihood failed ({'; '.join(problems)}); refitted with Firth's penalised likelihood, "
        "which keeps estimates finite. Wald CIs: for a separating term the odds ratio is only known to "
        "be very large or very small."
    )
    if not converged:
        note += " Warning: the penalised fit did not converge either; treat it with caution."
    notes.append(note)
    return params, cov, "Firth penalised-likelihood logistic regression"


def _coefficient_table(params: np.ndarray, cov: np.ndarray, labels: list[str], terms: pd.Index) -> pd.DataFrame:
    """Per term: label, coef (log-odds), se, odds ratio with its Wald 95% CI, and the Wald p-value."""
    se = np.sqrt(np.diag(cov))
    return pd.DataFrame(
        {
            "label": labels,
            "coef": params,
            "se": se,
            "odds_ratio": np.exp(params),
            "or_ci_low": np.exp(params - Z95 * se),
            "or_ci_high": np.exp(params + Z95 * se),
            "p_value": 2.0 * stats.norm.sf(np.abs(params / se)),
        },
        index=pd.Index(terms, name="term"),
    )


@dataclass
class ChurnRisk:
    """Churn probability (0-1) within the prediction window of each customer active at the snapshot's `as_of`,
    from the churn logit, the (possibly sampled) customers the logit was fitted on, and the logit (to score other
    snapshots)."""

    active: pd.DataFrame
    risk: np.ndarray
    sample: Sample
    model: ChurnLogitResult


def churn_risk(
    data: CXData, as_of: str | pd.Timestamp | None = None, max_customers: int | None = None, seed: int = 0
) -> ChurnRisk:
    """Score every customer active at `as_of` with `fit_churn_logit` fitted on at most `max_customers` of them.

    A logit's predicted probabilities from a random sample of a few hundred thousand customers are as good as
    from all of them; every customer is still scored. Raises ValueError (or KeyError) when the data supports no
    snapshot or no churn model (no dates, no churn in the window).

    Parameters
    ----------
    data
        The validated data.
    as_of
        Snapshot date; None or '' for the latest with a fully observed horizon.
    max_customers
        Customers the model is fitted on at most (None = all).
    seed
        Seed of the sample.

    Returns
    -------
    ChurnRisk
        Active customers, their predicted churn probability (0-1) and the sample fitted on.
    """
    snap = snapshot(data, as_of or None)
    active = snap[snap["active"]]
    sample = sample_customers(active, max_customers, seed)
    model = fit_churn_logit(sample.frame)
    return ChurnRisk(active, model.predict_proba(active), sample, model)
