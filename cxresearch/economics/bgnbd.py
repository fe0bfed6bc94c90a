"""Non-contractual repeat purchasing: the BG/NBD model of Fader, Hardie & Lee (2005).

While alive, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase she
drops out for good with probability p ~ Beta(a, b). From (frequency x, recency t_x, age T) per customer:
    L = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x))
        + 1[x > 0] B(a + 1, b + x - 1) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + t_x)^(r + x)).
Reference: Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an alternative to the Pareto/NBD
model", Marketing Science 24(2):275-284 (eqs. 6, 9, 10, 11 for the likelihood, E[X(t)], the conditional
expectation and P(alive)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from cxresearch.economics._mle import fit_log_params, parameter_table
from cxresearch.results import Estimate

PARAMS = ("r", "alpha", "a", "b")


@dataclass
class BGNBDResult:
    """A fitted BG/NBD model; time in the unit of recency and T (weeks for the CDNOW summaries)."""

    params: dict[str, float]
    covariance: np.ndarray
    log_likelihood: float
    n: int
    converged: bool = True
    notes: list[str] = field(default_factory=list)

    def p_alive(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(still alive at T | x, t_x, T) = 1 / (1 + 1[x > 0] a / (b + x - 1) ((alpha + T)/(alpha + t_x))^(r + x))."""
        x, tx, T = (np.asarray(v, float) for v in (frequency, recency, T))
        r, alpha, a, b = (self.params[k] for k in PARAMS)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: np.ndarray | float) -> np.ndarray:
        """E[X(t)]: expected purchases of a new customer in (0, t] after her first (eq. 9)."""
        t = np.asarray(t, float)
        r, alpha, a, b = (self.params[k] for k in PARAMS)
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)

    def conditional_expected_purchases(
        self, t: float | np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next t time units of a customer with that history (eq. 10)."""
        x, tx, T = (np.asarray(v, float) for v in (frequency, recency, T))
        t = np.asarray(t, float)
        r, alpha, a, b = (self.params[k] for k in PARAMS)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        return num * self.p_alive(x, tx, T)

    def summary(self) -> pd.DataFrame:
        """r, alpha, a, b with standard errors and 95% CIs (log-scale Wald); the log-likelihood in attrs."""
        return parameter_table(PARAMS, tuple(self.params[n] for n in PARAMS), self.covariance, self.log_likelihood)

    def to_estimates(self, prefix: str = "bgnbd") -> dict[str, Estimate]:
        """The four parameters as estimates keyed `<prefix>_<name>`."""
        return {
            f"{prefix}_{name}": Estimate(float(row.estimate), "", f"BG/NBD {name}", float(row.ci_low),
                                         float(row.ci_high), n=self.n, note="Fader, Hardie & Lee (2005)")
            for name, row in self.summary().iterrows()
        }


def fit_bgnbd(
    frequency: Sequence[float] | np.ndarray | pd.Series,
    recency: Sequence[float] | np.ndarray | pd.Series,
    T: Sequence[float] | np.ndarray | pd.Series,
    start: tuple[float, float, float, float] = (1.0, 3.0, 1.0, 3.0),
) -> BGNBDResult:
    """Fit BG/NBD by maximum likelihood to repeat frequency, recency and age (same time unit for both)."""
    x, tx, T = (np.asarray(v, float) for v in (frequency, recency, T))
    _check_rfm(x, tx, T)
    repeat = x > 0

    def log_likelihood(params: np.ndarray) -> float:
        r, alpha, a, b = params
        common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        first = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
        second = np.full_like(x, -np.inf)
        second[repeat] = (special.betaln(a + 1, b + x[repeat] - 1) - special.betaln(a, b)
                          - (r + x[repeat]) * np.log(alpha + tx[repeat]))
        return float(np.sum(common + np.logaddexp(first, second)))

    params, cov, ll, converged = fit_log_params(log_likelihood, np.array(start))
    notes = [] if converged else ["the BG/NBD fit did not converge cleanly: standard errors may be unreliable"]
    return BGNBDResult(dict(zip(PARAMS, map(float, params))), cov, ll, len(x), converged, notes)


def _check_rfm(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> None:
    """Say which input is wrong: lengths, negatives, recency beyond T, recency without repeat purchases."""
    if not len(x) == len(tx) == len(T):
        raise ValueError(f"frequency, recency and T differ in length ({len(x)}, {len(tx)}, {len(T)})")
    for name, v in (("frequency", x), ("recency", tx), ("T", T)):
        if np.isnan(v).any() or (v < 0).any():
            raise ValueError(f"{name} must be non-negative and not missing")
    if (tx > T + 1e-9).any():
        raise ValueError(f"recency exceeds T for {int((tx > T + 1e-9).sum())} customers")
    if ((x == 0) & (tx > 0)).any():
        raise ValueError("customers with no repeat purchase must have recency 0")
