"""Binomial logistic regression by Newton-Raphson on grouped rows (successes out of trials, weights allowed)."""

from __future__ import annotations

import numpy as np

from cxresearch.stats.newton import newton_step


def fit_logit(x: np.ndarray, successes: np.ndarray, trials: np.ndarray, start: np.ndarray | None = None,
              tol: float = 1e-9, max_iter: int = 50, keep_unidentified: bool = False) -> np.ndarray:
    """Maximum-likelihood coefficients (log odds per unit of each column of `x`) of a binomial logit.

    Parameters
    ----------
    x : design matrix, one row per group (include an intercept column).
    successes : per group, the (weighted) number of successes.
    trials : per group, the (weighted) number of trials; rows with 0 trials do not count.
    start : initial coefficients (None: zeros, odds 1 in every row).
    tol : stop once no coefficient moves more than this in a step.
    max_iter : at most this many Newton steps.
    keep_unidentified : a column no row with trials carries keeps its `start` value (`stats.newton.newton_step`)
        instead of raising `numpy.linalg.LinAlgError`: for refits on resampled rows.

    Returns
    -------
    np.ndarray
        The coefficients. A step that lowers the log-likelihood is halved until it does not.
    """
    beta = np.zeros(x.shape[1]) if start is None else np.asarray(start, dtype=float)
    loglik = _loglik(x @ beta, successes, trials)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        info = x.T @ (x * (trials * p * (1.0 - p))[:, None])
        step = newton_step(info, x.T @ (successes - trials * p), keep_unidentified)
        while True:
            new = _loglik(x @ (beta + step), successes, trials)
            if new >= loglik - 1e-10 or np.abs(step).max() <= 1e-10:
                break
            step = step / 2
        beta, loglik = beta + step, new
        if np.abs(step).max() < tol:
            break
    return beta


def _loglik(eta: np.ndarray, successes: np.ndarray, trials: np.ndarray) -> float:
    """Binomial log-likelihood at logit predictor `eta` (log(1 + e^eta) computed stably)."""
    return float(np.sum(successes * eta - trials * np.logaddexp(0.0, eta)))
