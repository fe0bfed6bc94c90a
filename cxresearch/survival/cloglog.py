"""The grouped-time proportional-hazards machinery of the person-month models: cells of identical person-months,
the tenure baseline and a binomial GLM with complementary log-log link (Prentice & Gloeckler 1978)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxresearch.stats.newton import newton_step


def person_month_cells(long: pd.DataFrame, design: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Cells of identical person-months (same tenure and covariates): tenure, churns, person-months, covariates.

    A person-month model with a tenure baseline depends on a row only through (tenure, covariates), so the binomial
    fit on the cells has the likelihood of the row-level fit on a fraction of the rows (a quarter on the demo).
    """
    cells = (design.assign(_tenure=long.loc[design.index, "tenure"].to_numpy(int),
                           _event=long.loc[design.index, "event"].to_numpy(float))
             .groupby([*design.columns, "_tenure"], sort=False)["_event"].agg(["sum", "size"]).reset_index())
    return (cells["_tenure"].to_numpy(int), cells["sum"].to_numpy(float), cells["size"].to_numpy(float),
            cells[list(design.columns)])


def tenure_baseline(tenure: np.ndarray, event: np.ndarray, time_bands: Sequence[int]) -> np.ndarray:
    """One indicator column per tenure band (`time_bands` = first month of each band); bands without churn are
    merged into the previous one (leading ones into the first band with churn), as a zero-event band has an
    intercept of -inf."""
    cuts = np.asarray(time_bands, dtype=int)
    band = np.maximum(np.searchsorted(cuts, tenure, side="right") - 1, 0)
    has_event = np.bincount(band, weights=event, minlength=len(cuts)) > 0
    keep = np.maximum.accumulate(np.where(has_event, np.arange(len(cuts)), -1))
    keep[keep < 0] = int(np.argmax(has_event))
    band = keep[band]
    return (band[:, None] == np.unique(band)[None, :]).astype(float)


def fit_cloglog(
    x: np.ndarray,
    y: np.ndarray,
    tol: float = 1e-9,
    max_iter: int = 50,
    start: np.ndarray | None = None,
    trials: np.ndarray | None = None,
    covariance: bool = True,
    keep_unidentified: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Binomial GLM with complementary log-log link by Fisher scoring (IRLS); coefficients, their covariance
    (inverse expected information, as statsmodels' GLM) and the maximised log-likelihood. Written out because
    statsmodels' IRLS takes a pseudo-inverse of the whole person-month matrix at every step, which is slow at
    hundreds of thousands of rows. `start`: initial coefficients (e.g. a nested model's, zeros appended).
    `trials`: person-months per row when rows are cells of identical person-months and `y` their churn counts
    (same estimates and log-likelihood as the uncollapsed Bernoulli rows). A step that lowers the log-likelihood
    is halved until it does not: strong drivers of a rare exit (one churn reason) can make a plain first step
    overshoot to hazards of 1. `covariance=False` skips the covariance (None), e.g. in bootstrap refits. Raises
    `numpy.linalg.LinAlgError` when the information matrix is singular, unless `keep_unidentified`: then a column
    no row carries (a driver absent from a bootstrap draw) keeps its `start` value (`stats.newton.newton_step`).
    """
    n = np.ones(len(y)) if trials is None else np.asarray(trials, dtype=float)
    if start is None:
        rate = np.clip(y.sum() / n.sum(), 1e-6, 1 - 1e-6)
        # start: the overall monthly hazard in every row, no driver effects (exact when x holds an intercept or
        # baseline indicators)
        beta = np.linalg.lstsq(x, np.full(len(y), np.log(-np.log1p(-rate))), rcond=None)[0]
    else:
        beta = np.asarray(start, dtype=float)
    eta = x @ beta
    loglik = _loglik(eta, y, n)
    # the information matrix only steers the steps (score, log-likelihood and the stopping rule stay in double
    # precision, so the optimum is the same to ~1e-8): in single precision its product takes half the time
    x32 = x.astype(np.float32)
    for _ in range(max_iter):
        mu = np.clip(-np.expm1(-np.exp(eta)), 1e-12, 1 - 1e-12)
        # d mu / d eta, written so that it underflows to 0 rather than to inf * 0 = NaN where eta is large
        dmu = np.exp(eta - np.exp(eta))
        w = n * dmu**2 / (mu * (1 - mu))
        info = (x32.T @ (x32 * w[:, None].astype(np.float32))).astype(float)
        # the score without dividing by dmu, which is 0 in cells far out in the tails
        step = newton_step(info, x.T @ (n * dmu * (y / n - mu) / (mu * (1 - mu))), keep_unidentified)
        while True:
            eta_new = x @ (beta + step)
            new = _loglik(eta_new, y, n)
            if new >= loglik - 1e-10 or np.abs(step).max() <= 1e-10:
                break
            step = step / 2
        beta, eta, loglik = beta + step, eta_new, new
        if np.max(np.abs(step)) < tol:
            break
    if not covariance:
        return beta, None, loglik
    mu = np.clip(-np.expm1(-np.exp(eta)), 1e-12, 1 - 1e-12)
    w = n * np.exp(eta - np.exp(eta)) ** 2 / (mu * (1 - mu))
    return beta, np.linalg.inv(x.T @ (x * w[:, None])), loglik


def _loglik(eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> float:
    """Binomial log-likelihood of `y` churns in `n` trials at cloglog predictor `eta` (-inf where not finite)."""
    mu = np.clip(-np.expm1(-np.exp(eta)), 1e-12, 1 - 1e-12)
    value = float(np.sum(y * np.log(mu) + (n - y) * np.log1p(-mu)))
    return value if np.isfinite(value) else -np.inf
