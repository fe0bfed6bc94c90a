"""Fine-Gray subdistribution hazard model of one churn reason: how covariates shift the cumulative incidence
of that reason (subdistribution hazard ratios), time in months.

The model is a Cox model in which customers who left for another reason stay in the risk set with a weight,
the estimated chance that they would still be under observation (Fine & Gray 1999). Without left truncation
the weight is G(t-)/G(T-), G the Kaplan-Meier curve of censoring, and the estimates and variance are those of
Fine & Gray (1999) as computed by R's `cmprsk::crr` (Breslow ties; the variance includes the term for the
estimated G). With left truncation (customers observed from `entry` on) the weight also carries the entry
distribution H: G(t-)H(t)/(G(T-)H(T)), H(t) the reverse-time product-limit estimate of P(entry < t) (Geskus
2011); the same weighted score equations are solved, and the variance is the robust sandwich clustered by
customer, as R's `survival::finegray` + `coxph(..., cluster = id)` report, which leaves out the term for the
estimated weights.

References: Fine & Gray (1999), J Am Stat Assoc 94:496-509; Geskus (2011), Biometrics 67:39-49; Gray, R.
(2024), cmprsk: Subdistribution Analysis of Competing Risks, R package 2.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cxresearch.stats.intervals import Z95
from cxresearch.survival.causes import CauseData, cause_data
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns

#: Newton-Raphson stops when the largest step in a coefficient is below this.
TOLERANCE = 1e-9
MAX_ITERATIONS = 50


@dataclass
class WaldTest:
    """Joint Wald chi-square test that the named coefficients are all zero."""

    terms: list[str]
    statistic: float
    df: int
    p_value: float


@dataclass
class FineGrayResult:
    """Subdistribution log hazard ratios (`coef`, per unit of each term) with their covariance `cov`."""

    cause: str
    terms: list[str]
    coef: np.ndarray
    cov: np.ndarray
    n: int
    n_events: int
    n_competing: int
    truncated: bool
    variance: str
    reference_levels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the log hazard ratios."""
        return np.sqrt(np.diag(self.cov))

    def summary(self) -> pd.DataFrame:
        """One row per term: coef, se, subdistribution hazard ratio `shr` with 95% CI, z and two-sided p."""
        z = self.coef / self.se
        return pd.DataFrame({
            "cause": self.cause, "term": self.terms, "coef": self.coef, "se": self.se,
            "shr": np.exp(self.coef), "ci_low": np.exp(self.coef - Z95 * self.se),
            "ci_high": np.exp(self.coef + Z95 * self.se), "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
        })

    def wald_test(self, terms: Sequence[str]) -> WaldTest:
        """Joint Wald test of `terms` (e.g. all dummies of one categorical column: a truncation-aware
        alternative to Gray's test)."""
        idx = [self.terms.index(t) for t in terms]
        b = self.coef[idx]
        statistic = float(b @ np.linalg.solve(self.cov[np.ix_(idx, idx)], b))
        return WaldTest(list(terms), statistic, len(idx), float(stats.chi2.sf(statistic, len(idx))))

    def _repr_html_(self) -> str:
        head = (f"<p><b>Fine-Gray model of churn for {self.cause}</b>: {self.n} customers, {self.n_events} left "
                f"for {self.cause}, {self.n_competing} for other reasons; {self.variance}.</p>")
        return head + self.summary().round(4).to_html(index=False) + "".join(f"<p>{n}</p>" for n in self.notes)


def fine_gray(
    df: pd.DataFrame,
    of_interest: str,
    covariates: Sequence[str],
    columns: LifetimeColumns = LIFETIMES,
) -> FineGrayResult:
    """Fit the Fine-Gray model of churn for `of_interest` (every other reason competes).

    Parameters
    ----------
    df : one row per customer.
    of_interest : the reason modelled, e.g. "service".
    covariates : columns entered (numeric per unit; others one-hot coded, most common level as reference).
    columns : the lifetime's columns (`LifetimeColumns`): `cause` holds the reason of an observed end (missing =
        censored; see `causes.lifetimes_by_cause`), `entry` the start of observation (left truncation) or None.

    Returns
    -------
    FineGrayResult
        Coefficients, covariance and subdistribution hazard ratios. Untruncated: Fine & Gray's variance (equals
        `cmprsk::crr`); truncated: Geskus weights and the robust variance clustered by customer.

    References
    ----------
    Fine, J. P. & Gray, R. J. (1999). A proportional hazards model for the subdistribution of a competing risk.
    J Am Stat Assoc 94:496-509. Geskus, R. B. (2011). Cause-specific cumulative incidence estimation and the
    Fine and Gray model under both left truncation and right censoring. Biometrics 67:39-49.
    """
    data = cause_data(df, of_interest, covariates, columns)
    weights = risk_weights(data)
    coef = _newton_raphson(data, weights)
    parts = _score_parts(data, weights, coef)
    bread = np.linalg.inv(parts.information)
    influence = parts.eta
    if data.truncated:
        variance = "robust variance clustered by customer (Geskus weights for left truncation)"
    else:
        influence = influence + _censoring_term(data, parts)
        variance = "Fine-Gray variance (as cmprsk::crr)"
    cov = bread @ (influence.T @ influence) @ bread
    return FineGrayResult(cause=of_interest, terms=data.terms, coef=coef, cov=cov, n=len(data.time),
                          n_events=int((data.status == 1).sum()), n_competing=int((data.status == 2).sum()),
                          truncated=data.truncated, variance=variance, reference_levels=data.reference_levels,
                          notes=data.notes)


def _at_risk(time: np.ndarray, entry: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Matrix (len(at) x customers): under observation at each time, entry < t <= time (entry 0 counts from 0)."""
    entered = (entry[None, :] < at[:, None]) | (entry[None, :] <= 0)
    return entered & (time[None, :] >= at[:, None])


def _censoring_left_limit(data: CauseData, at: np.ndarray) -> np.ndarray:
    """Kaplan-Meier probability of not yet censored just before each time in `at`, G(t-); ends at a time count
    as still at risk of censoring then."""
    censored = data.time[data.status == 0]
    times, counts = np.unique(censored, return_counts=True)
    risk = _at_risk(data.time, data.entry, times).sum(axis=1)
    curve = np.cumprod(1 - counts / risk)
    idx = np.searchsorted(times, at, side="left") - 1
    return np.where(idx >= 0, curve[np.clip(idx, 0, None)], 1.0)


def _entry_distribution(data: CauseData, at: np.ndarray) -> np.ndarray:
    """Reverse-time product-limit estimate of P(entry < t) at each time in `at` (Lynden-Bell 1971)."""
    times, counts = np.unique(data.entry, return_counts=True)
    risk = ((data.entry[None, :] <= times[:, None]) & (data.time[None, :] > times[:, None])).sum(axis=1)
    factors = 1 - counts / risk
    # P(entry < t) = product of the factors at entry times >= t
    tail = np.r_[np.cumprod(factors[::-1])[::-1], 1.0]
    return tail[np.searchsorted(times, at, side="left")]


def risk_weights(data: CauseData) -> np.ndarray:
    """Weights (event times of the cause x customers) in the subdistribution risk set: 1 while under
    observation, G(t-)[H(t)]/(G(T-)[H(T)]) after leaving for another reason at T, 0 otherwise.

    Parameters
    ----------
    data : the arrays of the regression.

    Returns
    -------
    np.ndarray
        One row per distinct event time of the cause of interest (ascending).
    """
    taus = np.unique(data.time[data.status == 1])
    g_tau, g_own = _censoring_left_limit(data, taus), _censoring_left_limit(data, data.time)
    if data.truncated:
        g_tau = g_tau * _entry_distribution(data, taus)
        g_own = g_own * _entry_distribution(data, data.time)
    competing = (data.status[None, :] == 2) & (data.time[None, :] < taus[:, None])
    return np.where(competing, g_tau[:, None] / g_own[None, :], _at_risk(data.time, data.entry, taus))


@dataclass
class _ScoreParts:
    """Score pieces at one coefficient vector (per distinct event time l of the cause, per customer i)."""

    loglik: float
    score: np.ndarray
    information: np.ndarray
    s0: np.ndarray
    mean: np.ndarray
    deaths: np.ndarray
    eta: np.ndarray
    risk: np.ndarray


def _score_parts(data: CauseData, weights: np.ndarray, coef: np.ndarray) -> _ScoreParts:
    """Weighted Breslow partial likelihood, score, information and each customer's score residual eta."""
    z, events = data.z, data.status == 1
    taus, deaths = np.unique(data.time[events], return_counts=True)
    risk = np.exp(z @ coef)
    wr = weights * risk[None, :]
    s0 = wr.sum(axis=1)
    mean = (wr @ z) / s0[:, None]
    s2 = (wr @ (z[:, :, None] * z[:, None, :]).reshape(len(z), -1)).reshape(len(taus), z.shape[1], z.shape[1])
    information = np.einsum("l,ljk->jk", deaths, s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :])
    loglik = float((z[events] @ coef).sum() - deaths @ np.log(s0))
    score = z[events].sum(axis=0) - deaths @ mean
    a = weights * (deaths / s0)[:, None]
    own = np.searchsorted(taus, data.time)
    eta = -risk[:, None] * (z * a.sum(axis=0)[:, None] - a.T @ mean)
    eta[events] += z[events] - mean[own[events]]
    return _ScoreParts(loglik, score, information, s0, mean, deaths, eta, risk)


def _newton_raphson(data: CauseData, weights: np.ndarray) -> np.ndarray:
    """Coefficients solving the weighted score equations (step halving when the likelihood drops)."""
    coef = np.zeros(data.z.shape[1])
    parts = _score_parts(data, weights, coef)
    for _ in range(MAX_ITERATIONS):
        step = np.linalg.solve(parts.information, parts.score)
        trial = _score_parts(data, weights, coef + step)
        while trial.loglik < parts.loglik - 1e-12 and np.abs(step).max() > TOLERANCE:
            step = step / 2
            trial = _score_parts(data, weights, coef + step)
        coef, parts = coef + step, trial
        if np.abs(step).max() < TOLERANCE:
            return coef
    raise RuntimeError(f"Fine-Gray fit for {data.cause!r} did not converge in {MAX_ITERATIONS} iterations")


def _censoring_term(data: CauseData, parts: _ScoreParts) -> np.ndarray:
    """Each customer's psi_i, the score's dependence on the estimated censoring curve (Fine & Gray 1999,
    sect. 4: integral of q(u)/R(u) against the censoring martingale)."""
    z, events = data.z, data.status == 1
    taus = np.unique(data.time[events])
    g_tau = _censoring_left_limit(data, taus)
    g_own = _censoring_left_limit(data, data.time)
    cens_times, cens_counts = np.unique(data.time[data.status == 0], return_counts=True)
    if len(cens_times) == 0:
        return np.zeros_like(z)
    at_risk = (data.time[None, :] >= cens_times[:, None]).sum(axis=1)
    # q(u) = sum over cause-of-interest times tau >= u of dLambda(tau) G(tau-) sum over customers who left for
    # another reason before u of exp(z b)/G(T-) (z - mean(tau)).
    a = parts.deaths / parts.s0 * g_tau
    tail0 = np.cumsum(a[::-1])[::-1]
    tail1 = np.cumsum((a[:, None] * parts.mean)[::-1], axis=0)[::-1]
    first = np.searchsorted(taus, cens_times, side="left")
    has_tail = first < len(taus)
    tail0 = np.where(has_tail, np.r_[tail0, 0.0][first], 0.0)
    tail1 = np.vstack([tail1, np.zeros(z.shape[1])])[first]
    competing = data.status == 2
    before = competing[None, :] & (data.time[None, :] < cens_times[:, None])
    contrib = before * (parts.risk / g_own)[None, :]
    b0, b1 = contrib.sum(axis=1), contrib @ z
    q = b1 * tail0[:, None] - b0[:, None] * tail1
    # psi_i = q(T_i)/R(T_i) if censored, minus sum over censoring times u <= T_i of c(u) q(u)/R(u)^2
    cumulative = np.cumsum(cens_counts[:, None] * q / at_risk[:, None] ** 2, axis=0)
    upto = np.searchsorted(cens_times, data.time, side="right") - 1
    psi = -np.where(upto[:, None] >= 0, cumulative[np.clip(upto, 0, None)], 0.0)
    censored = data.status == 0
    own = np.searchsorted(cens_times, data.time[censored])
    psi[censored] += q[own] / at_risk[own, None]
    return psi
