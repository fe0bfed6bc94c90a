"""Contractual retention: the shifted-beta-geometric (sBG) model of Fader & Hardie (2007).

Each customer renews at the end of every period with her own probability 1 - theta and leaves otherwise;
theta varies across customers as Beta(alpha, beta). Hence
    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta),   S(t) = B(alpha, beta + t) / B(alpha, beta),
    r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)    (rising retention: sorting, not loyalty).
References: Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1):76-90;
Fader & Hardie (2010), "Customer-base valuation in a contractual setting: the perils of ignoring heterogeneity",
Marketing Science 29(1):85-93 (discounted expected (residual) lifetime, DEL / DERL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from cxresearch.errors import NotEstimableError
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.mle import (
    MAX_LOG_SE,
    PARAMETER_RANGE,
    fit_log_params,
    log_wald_interval,
    parameter_table,
    require_identified,
)
from cxresearch.stats.units import DAYS_PER_MONTH


@dataclass
class SBGResult:
    """A fitted sBG model: Beta(alpha, beta) heterogeneity in the per-period churn probability."""

    alpha: float
    beta: float
    log_likelihood: float
    covariance: np.ndarray  # of (alpha, beta), delta method from the log scale
    alive: list[np.ndarray]  # per cohort: customers active at period ends 0..n (alive[0] = cohort size)
    notes: list[str] = field(default_factory=list)

    @property
    def n_periods(self) -> int:
        """Longest observed cohort history, in periods."""
        return max(len(a) for a in self.alive) - 1

    def survival(self, t: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """S(t): share of a new cohort still active after t periods (t = 0, 1, 2, ...)."""
        t = np.asarray(t, float)
        return np.exp(special.betaln(self.alpha, self.beta + t) - special.betaln(self.alpha, self.beta))

    def retention(self, t: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """r(t) = S(t) / S(t - 1): share of those active at period t - 1 who renew at t (t >= 1)."""
        t = np.asarray(t, float)
        return (self.beta + t - 1) / (self.alpha + self.beta + t - 1)

    def churn_probability(self, t: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """P(T = t): probability that a new customer's last period is t (t >= 1)."""
        t = np.asarray(t, float)
        return np.exp(special.betaln(self.alpha + 1, self.beta + t - 1) - special.betaln(self.alpha, self.beta))

    def del_(self, discount_rate: float) -> float:
        """Discounted expected lifetime of a new customer, in periods paid: sum_{t>=0} S(t) / (1 + d)^t.

        Timing: one payment at acquisition (t = 0) and one at each renewal, i.e. contracts paid in advance.
        Closed form 2F1(1, beta; alpha + beta; 1 / (1 + d)) (Fader & Hardie 2010, eq. 5); d per period, > 0.
        """
        return float(special.hyp2f1(1.0, self.beta, self.alpha + self.beta, 1.0 / (1.0 + discount_rate)))

    def derl(self, discount_rate: float, renewals: int | np.ndarray = 0) -> float | np.ndarray:
        """Discounted expected residual lifetime (periods paid) of a customer who has made `renewals` renewals.

        The customer is just before her next renewal decision: DERL = sum_{t>=n} S(t) / S(n - 1) / (1 + d)^(t - n)
        with n - 1 = `renewals`, i.e. the next payment (undiscounted) happens only if she renews. Closed form
        (beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))
        (Fader & Hardie 2010, eq. 6). Her residual value is the margin per period times this.
        """
        n = np.asarray(renewals, float) + 1
        a, b = self.alpha, self.beta
        out = (b + n - 1) / (a + b + n - 1) * special.hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + discount_rate))
        return float(out) if np.ndim(out) == 0 else out

    def projection(self, periods: int, observed: Sequence[Sequence[float]] | None = None) -> pd.DataFrame:
        """Per period 0..`periods`: projected % surviving and % retained, and observed values where known.

        Observed values pool the fitted cohorts, or `observed` (e.g. the full histories of cohorts fitted on their
        first periods only, to compare projections with a holdout).
        """
        t = np.arange(periods + 1)
        cohorts = self.alive if observed is None else _as_cohorts(observed)
        observed_s, observed_r = np.full(len(t), np.nan), np.full(len(t), np.nan)
        start = sum(a[0] for a in cohorts)
        for k in range(min(periods, max(len(a) for a in cohorts) - 1) + 1):
            # pooled over the cohorts observed that long: S_k = sum alive_k / sum alive_0 among them
            seen = [a for a in cohorts if len(a) > k]
            observed_s[k] = sum(a[k] for a in seen) / sum(a[0] for a in seen)
            if k:
                observed_r[k] = sum(a[k] for a in seen) / sum(a[k - 1] for a in seen)
        return pd.DataFrame(
            {
                "period": t,
                "survival_pct": 100 * self.survival(t),
                "retention_pct": np.r_[np.nan, 100 * self.retention(t[1:])],
                "observed_survival_pct": 100 * observed_s,
                "observed_retention_pct": 100 * observed_r,
                "expected_alive": start * self.survival(t),
            }
        )

    def summary(self) -> pd.DataFrame:
        """alpha and beta with standard errors and 95% CIs (log-scale Wald), plus the log-likelihood."""
        return parameter_table(("alpha", "beta"), (self.alpha, self.beta), self.covariance, self.log_likelihood)

    def to_estimates(self, prefix: str = "sbg", discount_rate: float | None = None) -> dict[str, Estimate]:
        """alpha, beta, mean churn probability alpha / (alpha + beta), and DEL at `discount_rate` if given."""
        out = {}
        for name, row in self.summary().iterrows():
            out[f"{prefix}_{name}"] = Estimate(float(row.estimate), "", f"sBG {name}", float(row.ci_low),
                                               float(row.ci_high), n=int(sum(a[0] for a in self.alive)),
                                               note="shifted-beta-geometric (Fader & Hardie 2007)")
        mean_churn = self.alpha / (self.alpha + self.beta)
        out[f"{prefix}_mean_churn_probability"] = Estimate(
            100 * mean_churn, "%", "Mean per-period churn probability of a new customer (sBG)",
            note="alpha / (alpha + beta)",
        )
        if discount_rate is not None:
            out[f"{prefix}_del"] = Estimate(
                self.del_(discount_rate), "periods", f"Discounted expected lifetime, {discount_rate:.1%}/period",
                note="Fader & Hardie (2010): payments at acquisition and each renewal",
            )
        return out


def fit_sbg(alive: Sequence[float] | Sequence[Sequence[float]], start: tuple[float, float] = (1.0, 1.0)) -> SBGResult:
    """Fit the sBG model by maximum likelihood to customers still active at the end of each period.

    Parameters
    ----------
    alive
        Customers active at period ends 0, 1, ..., n of one cohort (alive[0] = cohort size, non-increasing), or
        a list of such sequences for several cohorts sharing (alpha, beta), each with its own length.
    start
        Starting values of (alpha, beta).

    Returns
    -------
    SBGResult
        alpha, beta with standard errors and the cohorts fitted on.

    Notes
    -----
    The log-likelihood of a cohort is sum_{t=1..n} (alive[t-1] - alive[t]) ln P(T = t) + alive[n] ln S(n)
    (Fader & Hardie 2007, eq. 5): churners in each period, and those still active at the end (right-censored).

    Raises `NotEstimableError` when the data cannot separate the mean churn rate from its spread (churn seen in
    fewer than two periods) or the fit runs to a boundary (`_mle.require_identified`).

    References
    ----------
    Fader & Hardie (2007), "How to project customer retention", Journal of Interactive Marketing 21(1):76-90.
    """
    cohorts = _as_cohorts(alive)
    churned = [-np.diff(a) for a in cohorts]
    t_max = max(len(a) for a in cohorts) - 1
    _require_churn_pattern(churned, t_max)
    t = np.arange(1, t_max + 1, dtype=float)

    def log_likelihood(params: np.ndarray) -> float:
        a, b = params
        base = special.betaln(a, b)
        log_p = special.betaln(a + 1, b + t - 1) - base
        total = 0.0
        for alive_c, churn_c in zip(cohorts, churned):
            n = len(churn_c)
            total += float(np.dot(churn_c, log_p[:n])) + alive_c[-1] * (special.betaln(a, b + n) - base)
        return total

    params, cov, ll, converged = fit_log_params(log_likelihood, np.array(start))
    _require_heterogeneity(params, cov)
    require_identified("sBG", ("alpha", "beta"), params, cov, converged)
    return SBGResult(float(params[0]), float(params[1]), ll, cov, cohorts)


def _require_heterogeneity(params: np.ndarray, covariance: np.ndarray) -> None:
    """Refuse fits whose spread of churn across customers runs off to none or is not pinned down by the data: the
    cohorts then tell only the mean churn rate, alpha / (alpha + beta), and the sBG adds nothing to it."""
    a, b = params
    with np.errstate(invalid="ignore"):
        se_log = np.sqrt(np.diag(covariance)) / params
    if b > PARAMETER_RANGE[1] and a >= PARAMETER_RANGE[0]:
        spread = f"runs off to none (alpha {a:.3g}, beta {b:.3g})"
    elif a >= PARAMETER_RANGE[0] and np.all(np.isfinite(se_log)) and se_log.max() > MAX_LOG_SE:
        low, high = log_wald_interval(a, covariance[0, 0])
        spread = f"is not pinned down by the data (alpha {a:.3g}, 95% interval {low:.3g} to {high:.3g})"
    else:
        return
    raise NotEstimableError(
        f"retention barely rises with tenure in these cohorts, so the spread of churn across customers {spread}: "
        f"only the mean churn rate, {a / (a + b):.1%} a month, is known, and the sBG adds nothing to it",
        needs="more history")


def _require_churn_pattern(churned: list[np.ndarray], t_max: int) -> None:
    """Refuse histories with churn in fewer than two periods: one retention rate cannot give alpha and beta."""
    by_period = np.zeros(t_max)
    for churn_c in churned:
        by_period[: len(churn_c)] += churn_c
    if not by_period.sum():
        raise NotEstimableError(f"no customer of the cohorts left within the {t_max} observed periods, so there is "
                                "no churn to model", needs="churners")
    if np.count_nonzero(by_period) < 2:
        period = int(np.flatnonzero(by_period)[0]) + 1
        raise NotEstimableError(f"customers left in period {period} only, so the sBG cannot tell how churn "
                                "varies across customers from how it changes with tenure (it needs churn in at "
                                "least two periods)", needs="more history")


@dataclass
class CohortSplit:
    """Cohort histories (customers active at period ends 0..n) and their first `periods` periods to fit on."""

    histories: list[np.ndarray]
    periods: int
    note: str = ""  # how `periods` was chosen, when the requested calibration did not fit the histories

    @property
    def calibration(self) -> list[np.ndarray]:
        """Each history cut to its first `periods` periods."""
        return [h[: self.periods + 1] for h in self.histories]

    @property
    def has_holdout(self) -> bool:
        """Whether some cohort is observed beyond the calibration periods."""
        return max(len(h) for h in self.histories) - 1 > self.periods


def split_cohorts(histories: Sequence[Sequence[float]], calibration_periods: int) -> CohortSplit:
    """Fit on the first `calibration_periods` periods, or, when no cohort is observed beyond them, on the first
    two thirds of the longest history (all of it below 6 periods, leaving no holdout); the note says which.

    Raises `NotEstimableError` when no cohort is observed for two periods (the sBG's two parameters need two).

    Parameters
    ----------
    histories
        Per cohort: customers active at period ends 0..n.
    calibration_periods
        Periods requested for the fit.

    Returns
    -------
    CohortSplit
        The histories, the periods fitted on and a note on how they were chosen.
    """
    usable = [np.asarray(h, float) for h in histories if len(h) > 1]
    if not usable:
        raise NotEstimableError("no cohort of customers is observed from sign-up for a full month (it needs "
                                "sign-up dates inside the observed window)", needs="more history")
    longest = max(len(h) - 1 for h in usable)
    if longest < 2:
        raise NotEstimableError("the sign-up cohorts are observed for one month only; the sBG needs two or more",
                                needs="more history")
    if calibration_periods < longest:
        return CohortSplit(usable, calibration_periods)
    periods = 2 * longest // 3 if longest >= 6 else longest
    checked = (f"its first {periods} months, the remaining {longest - periods} checking the projection"
               if periods < longest else f"all {longest} months, with no months left to check the projection")
    note = (f"The cohorts are observed for at most {longest} months, not more than the requested "
            f"{calibration_periods} calibration months: the sBG is fitted on {checked}.")
    return CohortSplit(usable, periods, note)


def projection_check(sbg: SBGResult, split: CohortSplit, discount_rate: float) -> str:
    """The projection's mean absolute gap from the observed survival after calibration (percentage points), when
    a cohort is observed that long, and the discounted expected lifetime (periods paid) at `discount_rate`.

    Parameters
    ----------
    sbg
        The fit on the calibration periods.
    split
        The cohorts and their calibration periods.
    discount_rate
        Discount rate per period.

    Returns
    -------
    str
        The check and the expected discounted lifetime, as sentences.
    """
    lifetime = f"Expected discounted lifetime of a new customer: {sbg.del_(discount_rate):.1f} months paid."
    if not split.has_holdout:
        return f"No cohort is observed beyond the calibration months, so the projection is not checked. {lifetime}"
    longest = max(len(h) for h in split.histories) - 1
    after = sbg.projection(longest, split.histories).query("period > @sbg.n_periods")
    gap = (after["survival_pct"] - after["observed_survival_pct"]).abs().mean()
    return (f"Mean absolute gap between projected and observed survival after calibration: {gap:.1f} points. "
            f"{lifetime}")


def cohort_alive(
    lifetimes: pd.DataFrame,
    observed_until: pd.Timestamp | str,
    period_months: float = 1.0,
    cohort_freq: str = "Q",
    signup: str = "signup_date",
    duration: str = "duration_months",
    event: str = "event",
    entry: str | None = "entry_months",
    min_cohort: int = 30,
) -> pd.DataFrame:
    """Customers active at each period end (months), per signup cohort: columns cohort, period, alive.

    Only customers observed from signup (entry 0) count: left-truncated ones would inflate early survival. A
    cohort's history stops at the last period end that all its members could have reached by `observed_until`
    (so nobody is censored inside it); cohorts under `min_cohort` customers are dropped.

    Parameters
    ----------
    lifetimes
        One row per customer (`features.lifetimes`).
    observed_until
        End of observation.
    period_months
        Length of a period (months).
    cohort_freq
        Signup period of a cohort (pandas frequency, "Q" = quarter).
    signup, duration, event, entry
        Columns of signup date, tenure (months), churn flag and left-truncation time (months; customers observed
        only after signup are left out).
    min_cohort
        Smallest cohort kept (customers).

    Returns
    -------
    pandas.DataFrame
        Per cohort and period: customers still active (`alive`).
    """
    df = lifetimes
    if entry and entry in df.columns:
        df = df[df[entry].fillna(0) <= 0]
    observed_until = pd.Timestamp(observed_until)
    rows = []
    for cohort, sub in df.groupby(df[signup].dt.to_period(cohort_freq), sort=True):
        if len(sub) < min_cohort:
            continue
        reachable = (observed_until - sub[signup].max()).days / DAYS_PER_MONTH
        n = int(np.floor(reachable / period_months + 1e-9))
        if n < 1:
            continue
        ends = period_months * np.arange(n + 1)
        gone = sub[duration].to_numpy(float)[sub[event].to_numpy(bool)]
        alive = len(sub) - np.searchsorted(np.sort(gone), ends, side="right")
        rows.append(pd.DataFrame({"cohort": str(cohort), "period": np.arange(n + 1), "alive": alive}))
    if not rows:
        return pd.DataFrame(columns=["cohort", "period", "alive"])
    return pd.concat(rows, ignore_index=True)


def _as_cohorts(alive: Sequence[float] | Sequence[Sequence[float]]) -> list[np.ndarray]:
    """Validate `alive` as one or several non-increasing count sequences of length >= 2."""
    seqs = alive if len(alive) and np.ndim(alive[0]) == 1 else [alive]
    cohorts = []
    for i, seq in enumerate(seqs):
        a = np.asarray(seq, float)
        if a.ndim != 1 or len(a) < 2:
            raise ValueError(f"cohort {i}: need customers alive at the start and at least one period end")
        if np.any(a < 0) or np.any(np.diff(a) > 0) or a[0] <= 0:
            raise ValueError(f"cohort {i}: alive counts must start positive and never increase")
        cohorts.append(a)
    return cohorts

