"""Explanatory churn model: logistic regression of churn within the prediction window on CX drivers.

Reactive contacts and their resolution enter as two counts, `reactive_90d` (every customer-initiated contact)
and `unresolved_90d` (those not resolved at first contact). Because unresolved = reactive x (1 - FCR rate),
the `unresolved_90d` term *is* the reactive x unresolved interaction: exp(b_reactive) is the odds ratio of one
more contact that was resolved first time, exp(b_reactive + b_unresolved) of one that was not, and
exp(-b_unresolved) what first-contact resolution is worth per contact (`contact_effects`). A separate
`fcr_rate_90d` main effect would be undefined without contacts and redundant given the two counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
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

from cxresearch.data.schema import CXData
from cxresearch.features.snapshot import snapshot
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95, wilson_pct
from cxresearch.stats.multiplicity import holm
from cxresearch.stats.sampling import Sample, sample_customers

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
#: CX columns only flat data has (one undated value per customer, see `features.flat_snapshot`): used by default
#: when present, beside `DEFAULT_FEATURES`.
FLAT_FEATURES: tuple[str, ...] = ("ces_last", "reactive_contacts", "unresolved_contacts", "proactive_contacts")


def default_features(snapshot: pd.DataFrame) -> tuple[str, ...]:
    """`DEFAULT_FEATURES`, plus the flat-data CX columns `snapshot` has (a flat snapshot's only effort score is
    `ces_last`; an event snapshot, which has the 90-day mean, keeps that alone)."""
    flat = [c for c in FLAT_FEATURES if c in snapshot and not (c == "ces_last" and "ces_mean_90d" in snapshot)]
    return (*DEFAULT_FEATURES, *flat)

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
    "reactive_contacts": "Service contacts, the data's period (per contact)",
    "unresolved_contacts": "Unresolved service contacts, the data's period (per contact)",
    "proactive_contacts": "Proactive contacts, the data's period (per contact)",
}

INTERCEPT = "Intercept"
#: A coefficient whose standard error exceeds this per standard deviation of its feature is not identified by
#: the data (quasi-complete separation): plausible effects have SEs around 0.01-0.5 on that scale.
_MAX_SE_PER_SD = 10.0


#: Churn share (0-1) below which (or above 1 minus which) the classes count as heavily imbalanced.
IMBALANCE_SHARE = 0.05
#: A single feature whose ROC-AUC for churn exceeds this is treated as leaking the target.
LEAKAGE_AUC = 0.95


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
        x = _design_like(snapshot, list(self.coefficients.index), self.centers, self.reference_levels)
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


def single_feature_auc(data: pd.DataFrame, columns: list[str], churned: np.ndarray) -> pd.DataFrame:
    """ROC-AUC (0.5-1, direction-free) of each column alone for churn: its values, and whether it is missing.

    Numeric values are scored among customers with a value; categoricals by their level's churn share. A
    feature that alone separates churners almost perfectly is more likely a record of the outcome (an end
    date, a "cancelled" status) than a driver.
    """
    rows = []
    for col in columns:
        values = data[col]
        present = values.notna().to_numpy()
        auc_value = auc_missing = np.nan
        if pd.api.types.is_numeric_dtype(values) or values.dtype == bool:
            score = values.astype(float).to_numpy()[present]
        else:
            score = pd.Series(churned).groupby(values.astype(str).to_numpy()).transform("mean").to_numpy()[present]
        y = churned[present]
        if 0 < y.sum() < len(y) and np.ptp(score) > 0:
            auc = roc_auc_score(y, score)
            auc_value = max(auc, 1.0 - auc)
        if 0 < present.sum() < len(present):
            auc = roc_auc_score(churned, present)
            auc_missing = max(auc, 1.0 - auc)
        rows.append({"feature": col, "auc_value": auc_value, "auc_missing": auc_missing,
                     "auc": np.nanmax([auc_value, auc_missing, 0.5])})
    return pd.DataFrame(rows, columns=["feature", "auc_value", "auc_missing", "auc"]).set_index("feature")


#: What a score column is, in words an executive reads ("Satisfaction score (CSAT)"), where the label is terse.
PLAIN_NAMES: dict[str, str] = {
    "csat_last": "Satisfaction score (CSAT)",
    "csat_mean_90d": "Satisfaction score (CSAT, 90-day mean)",
    "nps_last": "Likelihood-to-recommend score (NPS)",
    "ces_last": "Effort score (CES)",
    "ces_mean_90d": "Effort score (CES, 90-day mean)",
}


def feature_label(column: str) -> str:
    """Readable name of a snapshot column, without its unit ("Satisfaction score (CSAT)", "Tenure")."""
    return PLAIN_NAMES.get(column) or FEATURE_LABELS.get(column, column).split(" (")[0]


#: Columns the leakage screen looks at when none are named: every model column and every per-customer score.
SCREENED_COLUMNS: tuple[str, ...] = (
    *DEFAULT_FEATURES, *FLAT_FEATURES, "csat_mean_90d", "nps_mean_90d", "monthly_margin", "n_referrals",
    *DEFAULT_CATEGORICAL,
)


@dataclass(frozen=True)
class LeakingColumn:
    """A column that on its own nearly equals the churn outcome: its name, readable label, ROC-AUC (0.5-1), why."""

    column: str
    label: str
    auc: float
    why: str

    def to_dict(self) -> dict[str, object]:
        """For `results.extra["leaking_columns"]`: "column" (the readable name reports print), "key" (the snapshot
        column), "why" and "auc"."""
        return {"column": self.label, "key": self.column, "why": self.why, "auc": round(self.auc, 3)}


@dataclass(frozen=True)
class LeakageScreen:
    """Single-column ROC-AUCs for churn and the columns above the threshold, to leave out of every churn model.

    Computed once per snapshot (`screen_leakage`) and passed on, so that what one analysis finds leaking no
    other analysis (relative weights, cross-validation, importance, partial dependence, claims) uses.
    """

    table: pd.DataFrame
    threshold: float
    leaking: tuple[LeakingColumn, ...]

    @property
    def columns(self) -> list[str]:
        """Names of the leaking columns."""
        return [c.column for c in self.leaking]

    def keep(self, columns: Sequence[str]) -> list[str]:
        """`columns` without the leaking ones, in order."""
        return [c for c in columns if c not in self.columns]

    def to_records(self) -> list[dict[str, object]]:
        """The leaking columns as plain records (for `results.extra["leaking_columns"]`)."""
        return [c.to_dict() for c in self.leaking]

    def finding(self) -> str | None:
        """The sentence that leads the findings when something leaks (None when nothing does)."""
        if not self.leaking:
            return None
        parts = [f"{c.label} nearly equals the churn outcome (ROC-AUC {c.auc:.2f} on its own)" for c in self.leaking]
        verb = "it was" if len(parts) == 1 else "they were"
        return (f"{'; '.join(parts)}: {verb} most likely recorded after customers decided to leave, so "
                f"{'it is' if len(parts) == 1 else 'they are'} left out of every churn model.")


def screen_leakage(
    snapshot: pd.DataFrame, columns: Sequence[str] | None = None, threshold: float = LEAKAGE_AUC
) -> LeakageScreen:
    """Flag columns that alone separate churners from stayers with ROC-AUC above `threshold` (0.5-1).

    Uses customers active at the snapshot's `as_of`; `columns` default to `SCREENED_COLUMNS` present with a
    value. On flat data (one row per customer, features and churn flag recorded together) a score given
    after the decision to leave is the typical case (IBM Telco's Satisfaction Score).
    """
    data = snapshot.loc[snapshot["active"].eq(True)]
    candidates = columns if columns is not None else SCREENED_COLUMNS
    present = [c for c in dict.fromkeys(candidates) if c in data and data[c].notna().any()]
    churned = data["churned"].astype(bool).to_numpy()
    if not 0 < churned.sum() < len(churned):
        return LeakageScreen(single_feature_auc(data, [], churned), threshold, ())
    table = single_feature_auc(data, present, churned)
    leaking = []
    for col in table.index[table["auc"] > threshold]:
        how = "its value" if table.loc[col, "auc_value"] >= np.nan_to_num(table.loc[col, "auc_missing"]) else \
            "whether it is missing"
        leaking.append(LeakingColumn(
            col, feature_label(col), float(table.loc[col, "auc"]),
            f"{how} alone separates churners from stayers (ROC-AUC {table.loc[col, 'auc']:.3f} > {threshold:g}): "
            "it records the outcome (given after the decision to leave) rather than predicting it",
        ))
    return LeakageScreen(table, threshold, tuple(leaking))


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
    """
    for needed in ("active", "churned"):
        if needed not in snapshot.columns:
            raise ValueError(f"snapshot has no column {needed!r}")
    notes: list[str] = []
    defaults = features is None
    features = _select(snapshot, features, DEFAULT_FEATURES, "feature", notes)
    if defaults:
        features += [c for c in default_features(snapshot) if c not in DEFAULT_FEATURES]
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
    if min(n_events, n - n_events) / n < IMBALANCE_SHARE:
        notes.append(
            f"Heavy class imbalance ({100 * n_events / n:.1f}% churned): odds ratios are unaffected (only the "
            "intercept reflects the base rate), so no re-sampling or re-weighting, which would distort "
            "predicted probabilities; judge prediction by PR-AUC, lift and profit, not accuracy."
        )
    leakage = single_feature_auc(data, [*features, *categorical], y.astype(bool))
    leaking = [c for c in leakage.index if c in exclude]
    for col in leaking:
        notes.append(f"Dropped {col}: flagged as leaking the outcome on the whole snapshot (recorded after the "
                     "churn decision), so it is left out of every churn model.")
    if leakage_auc is not None:
        screened = [c for c in leakage.index[leakage["auc"] > leakage_auc] if c not in leaking]
        for col in screened:
            notes.append(
                f"Dropped {col}: on its own it separates churners from stayers almost perfectly (ROC-AUC "
                f"{leakage.loc[col, 'auc']:.3f} > {leakage_auc}), so it most likely records the outcome "
                "rather than predicting it (leakage)."
            )
        leaking += screened
    features = [c for c in features if c not in leaking]
    categorical = [c for c in categorical if c not in leaking]

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
    covariance = pd.DataFrame(cov, index=design.columns, columns=design.columns)
    return ChurnLogitResult(table, n, n_events, _auc(y, prob), method, notes, references, centers, covariance,
                            leakage, leaking)


def _design_like(
    data: pd.DataFrame, terms: list[str], centers: dict[str, float], references: dict[str, str]
) -> np.ndarray:
    """The design matrix of a fitted model's `terms` for new rows (same centring, indicators and dummies)."""
    columns = []
    for term in terms:
        if term == INTERCEPT:
            columns.append(np.ones(len(data)))
        elif term in centers:
            x = pd.to_numeric(data[term].astype(float)).to_numpy()
            columns.append(np.where(np.isnan(x), 0.0, x - centers[term]))
        elif term.endswith("_missing") and term[: -len("_missing")] in data.columns:
            columns.append(data[term[: -len("_missing")]].isna().to_numpy(dtype=float))
        else:
            col, _, level = term.partition("[")
            if col not in references:
                raise ValueError(f"cannot rebuild term {term!r} from the data")
            values = data[col].astype("object").where(data[col].notna(), "(missing)").astype(str)
            columns.append((values == level[:-1]).to_numpy(dtype=float))
    return np.column_stack(columns)


@dataclass
class ChurnRisk:
    """Churn probability (0-1) within the prediction window of each customer active at the snapshot's `as_of`,
    from the churn logit, and the (possibly sampled) customers the logit was fitted on."""

    active: pd.DataFrame
    risk: np.ndarray
    sample: Sample


def churn_risk(
    data: CXData, as_of: str | pd.Timestamp | None = None, max_customers: int | None = None, seed: int = 0
) -> ChurnRisk:
    """Score every customer active at `as_of` with `fit_churn_logit` fitted on at most `max_customers` of them.

    A logit's predicted probabilities from a random sample of a few hundred thousand customers are as good as
    from all of them; every customer is still scored. Raises ValueError (or KeyError) when the data supports no
    snapshot or no churn model (no dates, no churn in the window).
    """
    snap = snapshot(data, as_of or None)
    active = snap[snap["active"]]
    sample = sample_customers(active, max_customers, seed)
    return ChurnRisk(active, fit_churn_logit(sample.frame).predict_proba(active), sample)
