"""Maximum likelihood on log-parameters, with Wald standard errors from a numerical Hessian."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import optimize

from cxresearch.survival import Z95


def fit_log_params(
    log_likelihood: Callable[[np.ndarray], float], start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Maximise `log_likelihood(params)` over positive params; returns (params, covariance, max LL, converged).

    The search runs on log(params) (positivity for free, better conditioning); the covariance is the inverse
    observed information on the log scale mapped back by the delta method (J = diag(params)).
    """

    def negll(theta: np.ndarray) -> float:
        value = -log_likelihood(np.exp(theta))
        return float(value) if np.isfinite(value) else 1e300

    theta0 = np.log(np.asarray(start, float))
    res = optimize.minimize(negll, theta0, method="L-BFGS-B")
    # polish with Nelder-Mead: L-BFGS-B's finite-difference gradient stops early on flat ridges
    res2 = optimize.minimize(negll, res.x, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10,
                                                                          "maxiter": 4000})
    best = res2 if res2.fun <= res.fun else res
    theta = best.x
    hess = _hessian(negll, theta)
    params = np.exp(theta)
    try:
        cov_log = np.linalg.inv(hess)
        cov = cov_log * np.outer(params, params)
        converged = bool(np.all(np.diag(cov_log) > 0))
    except np.linalg.LinAlgError:
        cov, converged = np.full((len(theta), len(theta)), np.nan), False
    return params, cov, -float(best.fun), converged and bool(res.success or res2.success)


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function at x."""
    k = len(x)
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            e_i, e_j = np.eye(k)[i] * h, np.eye(k)[j] * h
            out[i, j] = out[j, i] = (
                f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)
            ) / (4 * h * h)
    return out


def log_wald_interval(value: float, variance: float) -> tuple[float, float]:
    """95% interval for a positive parameter from a Wald interval on its log (delta method)."""
    if not np.isfinite(variance) or variance <= 0:
        return float("nan"), float("nan")
    se_log = np.sqrt(variance) / value
    return float(value * np.exp(-Z95 * se_log)), float(value * np.exp(Z95 * se_log))


def parameter_table(
    names: tuple[str, ...], values: tuple[float, ...], covariance: np.ndarray, log_likelihood: float
) -> pd.DataFrame:
    """Estimates with standard errors and 95% log-scale Wald CIs, indexed by parameter; the LL in attrs."""
    rows = []
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        lo, hi = log_wald_interval(value, covariance[i, i])
        rows.append({"parameter": name, "estimate": value, "se": float(np.sqrt(covariance[i, i])),
                     "ci_low": lo, "ci_high": hi})
    table = pd.DataFrame(rows).set_index("parameter")
    table.attrs["log_likelihood"] = log_likelihood
    return table
