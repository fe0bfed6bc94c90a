"""Fitting the churn logit: maximum likelihood with separation checks, Firth's penalised likelihood as the
fallback, and the in-sample ROC-AUC with its Hanley-McNeil interval."""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm
from scipy import special
from sklearn.metrics import roc_auc_score
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from cxresearch.churn.design import INTERCEPT
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95

#: A coefficient whose standard error exceeds this per standard deviation of its feature is not identified by
#: the data (quasi-complete separation): plausible effects have SEs around 0.01-0.5 on that scale.
_MAX_SE_PER_SD = 10.0


def fit_ml_logit(x: np.ndarray, y: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Maximum-likelihood logit: coefficients, covariance and the list of problems found (empty if sound).

    Parameters
    ----------
    x
        Design matrix with intercept.
    y
        Outcome (0/1).
    names
        Term names, for the problems' wording.

    Returns
    -------
    tuple
        Coefficients (log odds), their covariance and the problems found.
    """
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


def fit_firth_logit(
    x: np.ndarray, y: np.ndarray, max_iter: int = 200, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Firth's penalised-likelihood logit (Heinze & Schemper 2002): coefficients, Wald covariance, converged.

    Newton steps on the modified score ``X'(y - p + h (1/2 - p))`` with step halving on the penalised
    log-likelihood ``l(b) + log|X'WX| / 2``; estimates stay finite under separation.

    Parameters
    ----------
    x
        Design matrix with intercept.
    y
        Outcome (0/1).
    max_iter, tol
        Newton iterations at most and the convergence tolerance on the step.

    Returns
    -------
    tuple
        Coefficients (log odds), Wald covariance and whether the iterations converged.

    References
    ----------
    Firth (1993), Biometrika 80(1):27-38; Heinze & Schemper (2002), Statistics in Medicine 21:2409-2419.
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


def in_sample_auc(y: np.ndarray, prob: np.ndarray) -> Estimate:
    """In-sample ROC-AUC with a Hanley-McNeil (1982) 95% CI.

    Parameters
    ----------
    y
        Outcome (0/1).
    prob
        Predicted probabilities.

    Returns
    -------
    Estimate
        ROC-AUC (0-1) with its 95% CI.

    References
    ----------
    Hanley & McNeil (1982), "The meaning and use of the area under a ROC curve", Radiology 143:29-36.
    """
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

