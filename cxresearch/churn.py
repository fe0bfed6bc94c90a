"""Explanatory churn model: logistic regression of churn within the prediction window on CX drivers."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import linalg, special, stats
from sklearn.metrics import roc_auc_score
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from cxresearch.loyalty import wilson_pct
from cxresearch.results import Estimate

DEFAULT_FEATURES: tuple[str, ...] = (
    "ces_mean_90d",
    "csat_last",
    "nps_last",
    "reactive_90d",
    "unresolved_90d",
    "proactive_90d",
    "inconsistency_90d",
    "tenure_months",
)
DEFAULT_CATEGORICAL: tuple[str, ...] = ("contract", "plan")

#: Readable names and the unit a one-unit change refers to, for known snapshot columns.
FEATURE_LABELS: dict[str, str] = {
    "ces_mean_90d": "CES effort, 90-day mean (per point)",
    "ces_last": "CES effort, latest (per point)",
    "csat_last": "CSAT, latest (per point)",
    "csat_mean_90d": "CSAT, 90-day mean (per point)",
    "nps_last": "NPS score, latest (per point)",
    "reactive_90d": "Reactive contacts, 90 days (per contact)",
    "unresolved_90d": "Unresolved contacts, 90 days (per contact)",
    "proactive_90d": "Proactive contacts, 90 days (per contact)",
    "inconsistency_90d": "Channel inconsistencies, 90 days (per event)",
    "fcr_rate_90d": "First-contact resolution rate, 90 days (0 to 1)",
    "tenure_months": "Tenure (per month)",
    "monthly_margin": "Monthly margin (per currency unit)",
    "n_referrals": "Referrals made (per referral)",
}

INTERCEPT = "Intercept"
Z95: float = float(stats.norm.ppf(0.975))
#: A coefficient whose standard error exceeds this per standard deviation of its feature is not identified by
#: the data (quasi-complete separation): plausible effects have SEs around 0.01-0.5 on that scale.
_MAX_SE_PER_SD = 10.0


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

    def findings(self, alpha: float = 0.05) -> list[str]:
        """Plain-words sentences for the CX drivers whose odds ratio differs from 1 at level `alpha`."""
        # Controls (tenure, segments) and missing-score indicators are adjustments, not CX findings.
        drivers = [t for t in self.coefficients.index if t in FEATURE_LABELS and t != "tenure_months"]
        table = self.coefficients.loc[drivers]
        significant = table[table["p_value"] < alpha].sort_values("p_value")
        out = []
        for row in significant.itertuples():
            direction = "more" if row.odds_ratio > 1 else "less"
            out.append(
                f"{row.label}: {direction} churn, odds ratio {row.odds_ratio:.2f} "
                f"(95% CI {row.or_ci_low:.2f} to {row.or_ci_high:.2f})."
            )
        if not out:
            out.append(f"No CX driver's odds ratio differs from 1 at the {alpha:.0%} level.")
        return out

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


def _select(
    snapshot: pd.DataFrame, requested: list[str] | None, default: tuple[str, ...], kind: str, notes: list[str]
) -> list[str]:
    """Columns to use: requested ones must exist; defaults are used only where present."""
    if requested is not None:
        missing = [c for c in requested if c not in snapshot.columns]
        if missing:
            raise ValueError(f"{kind} column(s) not in snapshot: {missing}")
        return list(requested)
    absent = [c for c in default if c not in snapshot.columns]
    if absent:
        notes.append(f"Default {kind} column(s) not in the data, left out: {', '.join(absent)}.")
    return [c for c in default if c in snapshot.columns]


def _design(
    data: pd.DataFrame, features: list[str], categorical: list[str], notes: list[str]
) -> tuple[pd.DataFrame, dict[str, str], dict[str, str], dict[str, float]]:
    """Design matrix (intercept, centred numerics, missing flags, dummies), labels, references, centres."""
    n = len(data)
    columns: dict[str, np.ndarray] = {INTERCEPT: np.ones(n)}
    labels: dict[str, str] = {INTERCEPT: "Intercept (log-odds at feature means, reference levels)"}
    references: dict[str, str] = {}
    centers: dict[str, float] = {}
    for col in features:
        try:
            x = pd.to_numeric(data[col].astype("float64") if data[col].dtype == bool else data[col])
        except (TypeError, ValueError):
            raise ValueError(f"feature {col!r} is not numeric; pass it in `categorical`") from None
        x = x.to_numpy(dtype=float)
        missing = np.isnan(x)
        if missing.all():
            notes.append(f"Dropped {col}: no customer has a value.")
            continue
        center = float(x[~missing].mean())
        # Centring makes the intercept the log-odds at the mean, and gives missing rows the value 0.
        x = np.where(missing, 0.0, x - center)
        label = FEATURE_LABELS.get(col, f"{col} (per unit)")
        if np.ptp(x[~missing]) == 0.0:
            notes.append(f"Dropped {col}: constant ({center:g}) among customers with a value.")
        else:
            columns[col], labels[col], centers[col] = x, label, center
        if missing.any():
            indicator = f"{col}_missing"
            columns[indicator] = missing.astype(float)
            labels[indicator] = f"{label.split(' (')[0]}: missing (vs value at mean)"
            notes.append(
                f"{col}: {missing.sum()} of {n} ({100 * missing.mean():.0f}%) missing; kept with "
                f"missing-indicator coding (filled with the mean {center:.2f}, flagged by {indicator}). "
                f"Its odds ratio is estimated among customers with a value; {indicator} compares those "
                "without one to a customer at the mean."
            )
    for col in categorical:
        values = data[col].astype("object").where(data[col].notna(), "(missing)").astype(str)
        counts = values.value_counts()
        if len(counts) < 2:
            notes.append(f"Dropped {col}: only one level ({counts.index[0]}).")
            continue
        # Most common level as reference; ties broken alphabetically so the choice is deterministic.
        reference = sorted(counts.index, key=lambda level: (-counts[level], level))[0]
        references[col] = reference
        for level in sorted(counts.index):
            if level != reference:
                term = f"{col}[{level}]"
                columns[term] = (values == level).to_numpy(dtype=float)
                labels[term] = f"{col}: {level} (vs {reference})"
    design = pd.DataFrame(columns, index=data.index)
    constant = [c for c in design.columns if c != INTERCEPT and np.ptp(design[c].to_numpy()) == 0.0]
    for col in constant:
        notes.append(f"Dropped {col}: constant among the modelled customers.")
    design = design.drop(columns=constant)
    design = _drop_collinear(design, notes)
    return design, {c: labels[c] for c in design.columns}, references, centers


def _drop_collinear(design: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Drop terms that are exact linear combinations of earlier ones (pivoted QR on scaled columns)."""
    x = design.to_numpy()
    scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    _, r, pivot = linalg.qr(x / scale, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > diag[0] * 1e-9 * max(x.shape)).sum())
    if rank == x.shape[1]:
        return design
    dropped = [design.columns[i] for i in pivot[rank:]]
    notes.append(
        f"Dropped {', '.join(dropped)}: a linear combination of other terms (not separately estimable)."
    )
    return design.drop(columns=dropped)


def _fit_ml(x: np.ndarray, y: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Maximum-likelihood logit: coefficients, covariance and the list of problems found (empty if sound)."""
    problems: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = sm.GLM(y, x, family=sm.families.Binomial()).fit(maxiter=100)
        except (PerfectSeparationError, np.linalg.LinAlgError, ValueError, RuntimeError) as error:
            return np.full(x.shape[1], np.nan), np.full((x.shape[1],) * 2, np.nan), [f"fit failed ({error})"]
    if any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
        problems.append("perfect separation detected")
    if not fit.converged or any(issubclass(w.category, ConvergenceWarning) for w in caught):
        problems.append("did not converge")
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    se = np.sqrt(np.diag(cov))
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(se))):
        return params, cov, [*problems, "non-finite estimates"]
    unbounded = [
        name
        for name, s, sd in zip(names, se, x.std(axis=0), strict=True)
        if name != INTERCEPT and s * sd > _MAX_SE_PER_SD
    ]
    # Under complete separation every term looks unbounded, so naming them would mislead.
    if unbounded and not problems:
        problems.append(f"unbounded estimates, i.e. (quasi-)separation, for {', '.join(unbounded)}")
    return params, cov, problems


def _fit_firth(
    x: np.ndarray, y: np.ndarray, max_iter: int = 200, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Firth's penalised-likelihood logit (Heinze & Schemper 2002): coefficients, Wald covariance, converged.

    Newton steps on the modified score ``X'(y - p + h (1/2 - p))`` with step halving on the penalised
    log-likelihood ``l(b) + log|X'WX| / 2``; estimates stay finite under separation.
    """

    def penalised(beta: np.ndarray) -> float:
        eta = x @ beta
        weights = special.expit(eta) * special.expit(-eta)
        logdet = np.linalg.slogdet(x.T @ (x * weights[:, None]))[1]
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)) + 0.5 * logdet)

    beta = np.zeros(x.shape[1])
    current = penalised(beta)
    for _ in range(max_iter):
        p = special.expit(x @ beta)
        weights = p * (1.0 - p)
        cov = np.linalg.pinv(x.T @ (x * weights[:, None]), hermitian=True)
        hat = weights * np.einsum("ij,jk,ik->i", x, cov, x)
        step = cov @ (x.T @ (y - p + hat * (0.5 - p)))
        step *= min(1.0, 5.0 / max(np.abs(step).max(), 1e-300))  # cap the step as logistf does (maxstep 5)
        for _ in range(30):
            candidate = penalised(beta + step)
            if candidate >= current - 1e-10:
                break
            step /= 2.0
        beta, current = beta + step, candidate
        if np.abs(step).max() < tol:
            p = special.expit(x @ beta)
            info = x.T @ (x * (p * (1.0 - p))[:, None])
            return beta, np.linalg.pinv(info, hermitian=True), True
    return beta, cov, False


def _auc(y: np.ndarray, prob: np.ndarray) -> Estimate:
    """In-sample ROC-AUC with a Hanley-McNeil (1982) 95% CI."""
    auc = float(roc_auc_score(y, prob))
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    q1, q2 = auc / (2.0 - auc), 2.0 * auc**2 / (1.0 + auc)
    se = float(np.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)))
    return Estimate(
        auc,
        "",
        "ROC-AUC of the churn model on its own training data",
        max(0.0, auc - Z95 * se),
        min(1.0, auc + Z95 * se),
        len(y),
        "in-sample: optimistic for new customers (no hold-out); CI Hanley-McNeil",
    )


def fit_churn_logit(
    snapshot: pd.DataFrame,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
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
        Numeric columns; default `DEFAULT_FEATURES` that exist in the snapshot.
    categorical
        Categorical columns; default `DEFAULT_CATEGORICAL` that exist in the snapshot.
    """
    for needed in ("active", "churned"):
        if needed not in snapshot.columns:
            raise ValueError(f"snapshot has no column {needed!r}")
    notes: list[str] = []
    features = _select(snapshot, features, DEFAULT_FEATURES, "feature", notes)
    categorical = _select(snapshot, categorical, DEFAULT_CATEGORICAL, "categorical", notes)
    data = snapshot.loc[snapshot["active"].eq(True)]
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

    design, labels, references, centers = _design(data, features, categorical, notes)
    x = design.to_numpy()
    params, cov, problems = _fit_ml(x, y, list(design.columns))
    method = "maximum likelihood logistic regression"
    if problems:
        params, cov, converged = _fit_firth(x, y)
        method = "Firth penalised-likelihood logistic regression"
        note = (
            f"Maximum likelihood failed ({'; '.join(problems)}); refitted with Firth's penalised likelihood, "
            "which keeps estimates finite. Wald CIs: for a separating term the odds ratio is only known to "
            "be very large or very small."
        )
        if not converged:
            note += " Warning: the penalised fit did not converge either; treat it with caution."
        notes.append(note)
    se = np.sqrt(np.diag(cov))
    z = params / se
    table = pd.DataFrame(
        {
            "label": [labels[c] for c in design.columns],
            "coef": params,
            "se": se,
            "odds_ratio": np.exp(params),
            "or_ci_low": np.exp(params - Z95 * se),
            "or_ci_high": np.exp(params + Z95 * se),
            "p_value": 2.0 * stats.norm.sf(np.abs(z)),
        },
        index=pd.Index(design.columns, name="term"),
    )
    events_per_term = n_events / (x.shape[1] - 1) if x.shape[1] > 1 else float("inf")
    if events_per_term < 10:
        notes.append(f"Only {events_per_term:.1f} events per term (< 10): estimates may be unstable.")
    prob = special.expit(x @ params)
    return ChurnLogitResult(table, n, n_events, _auc(y, prob), method, notes, references, centers)
