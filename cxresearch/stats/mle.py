"""Maximum likelihood on log-parameters, with Wald standard errors from a numerical Hessian."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import optimize

from cxresearch.errors import NotEstimableError
from cxresearch.stats.intervals import Z95

#: Magnitudes beyond which a dimensionless parameter has run off to a boundary of its space (0 or infinity): the
#: likelihood keeps improving along the way, so the value is where the optimiser stopped, not an estimate.
PARAMETER_RANGE = (1e-4, 1e5)
#: Largest usable standard error of a log-parameter: beyond 2 the 95% interval spans more than a factor of 2,500
#: (e^(2 x 1.96 x 2)), i.e. the data say next to nothing about the parameter.
MAX_LOG_SE = 2.0


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


def require_identified(
    model: str,
    names: tuple[str, ...],
    params: np.ndarray,
    covariance: np.ndarray,
    converged: bool,
    unit_dependent: tuple[str, ...] = (),
) -> None:
    """Raise `NotEstimableError` unless the fit is a result: parameters inside `PARAMETER_RANGE`, finite and usable
    log-scale standard errors, and a converged optimiser.

    `unit_dependent` names scale parameters whose magnitude follows the data's units (time, money): they are
    exempt from the range check, not from the standard-error check.
    """
    low, high = PARAMETER_RANGE
    for name, value in zip(names, params, strict=True):
        if name not in unit_dependent and not low <= value <= high:
            edge = "0" if value < low else "infinity"
            raise NotEstimableError(
                f"the {model} parameter {name} ran towards {edge} ({value:.3g}): the likelihood has no interior "
                "maximum, so the data cannot pin the model down")
    variance_log = np.diag(covariance) / np.square(params)
    for name, var in zip(names, variance_log, strict=True):
        if not np.isfinite(var) or var <= 0:
            raise NotEstimableError(f"the {model} likelihood is flat in {name} (no finite standard error)")
        if np.sqrt(var) > MAX_LOG_SE:
            raise NotEstimableError(f"the {model} parameter {name} is barely informed by the data (standard "
                                    f"error of its log {np.sqrt(var):.1f})")
    if not converged:
        raise NotEstimableError(f"the {model} fit did not converge")


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
