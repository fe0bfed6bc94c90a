"""Survival tails for lifetime value beyond the observed horizon: a constant hazard, or a Weibull, log-normal or
log-logistic curve refitted fast on case counts.

`cxresearch.survival.parametric.fit_aft` (lifelines) fits these families once, with its checks and AIC; a
bootstrap of the CLV refits the tail in every resample, and a lifelines fit per resample costs about 0.2 s. Here
the same likelihood is maximised on the counts of leavers, churners and entrants at each distinct time (a
resample only changes those counts), warm-started at the full data's estimate, in milliseconds. Parameters are
theta = (mu, log sigma) of log T = mu + sigma Z, Z standard minimum-extreme-value (Weibull), normal (log-normal)
or logistic (log-logistic): the lifelines AFT intercepts (`theta_from_lifelines`). Durations in months; the
likelihood is conditional on survival to entry (left truncation) as in lifelines' `entry_col`.
"""

from __future__ import annotations

import numpy as np
from lifelines.fitters import ParametricRegressionFitter
from scipy import optimize, special

#: Tail families, in the order they are reported; "constant" is the default.
FAMILIES: tuple[str, ...] = ("constant", "weibull", "lognormal", "loglogistic")
#: How each family is named in sentences.
LABELS: dict[str, str] = {"constant": "constant hazard", "weibull": "Weibull", "lognormal": "log-normal",
                          "loglogistic": "log-logistic"}
#: Churn events a parametric tail needs at least (as `parametric.MIN_EVENTS`): fewer and the shape is a guess.
MIN_TAIL_EVENTS = 10
#: Zero durations have no density under these families: half a day instead (as `parametric.fit_aft`).
SHORTEST_MONTHS = 0.5 / 30.4375


def log_survival(family: str, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log S(t) of a parametric family at times `t` (months; S(0) = 1)."""
    t = np.asarray(t, dtype=float)
    z = (np.log(np.where(t > 0, t, SHORTEST_MONTHS)) - theta[0]) / np.exp(theta[1])
    if family == "weibull":
        out = -np.exp(z)
    elif family == "lognormal":
        out = special.log_ndtr(-z)
    else:
        out = -np.logaddexp(0.0, z)
    return np.where(t > 0, out, 0.0)


def _log_density(family: str, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log f(t) of a parametric family (density per month) at durations `t` (0 taken as half a day)."""
    log_t = np.log(np.where(t > 0, t, SHORTEST_MONTHS))
    z = (log_t - theta[0]) / np.exp(theta[1])
    if family == "weibull":
        log_f0 = z - np.exp(z)
    elif family == "lognormal":
        log_f0 = -0.5 * z**2 - 0.5 * np.log(2 * np.pi)
    else:
        log_f0 = z - 2.0 * np.logaddexp(0.0, z)
    return log_f0 - theta[1] - log_t


def log_likelihood(family: str, theta: np.ndarray, counts: TailCounts) -> float:
    """Log-likelihood of `theta` given counts of leavers, churners and entrants (left truncation conditioned on)."""
    censored = counts.leaving - counts.deaths
    ll = (np.sum(counts.deaths * _log_density(family, theta, counts.times))
          + np.sum(censored * log_survival(family, theta, counts.times)))
    return float(ll - np.sum(counts.entering * log_survival(family, theta, counts.entries)))


class TailCounts:
    """Distinct durations with the (weighted) customers leaving and churning at each, and distinct entry times
    with the customers entering at each: all a parametric likelihood needs."""

    def __init__(self, times: np.ndarray, leaving: np.ndarray, deaths: np.ndarray, entries: np.ndarray,
                 entering: np.ndarray) -> None:
        self.times, self.leaving, self.deaths = times, leaving, deaths
        self.entries, self.entering = entries, entering

    def start(self) -> np.ndarray:
        """A starting theta: the exponential fit (log of customer-months per churn event, sigma 1)."""
        exposure = np.sum(self.leaving * self.times) - np.sum(self.entering * self.entries)
        return np.array([np.log(max(exposure, 1e-9) / max(self.deaths.sum(), 1e-9)), 0.0])


def fit_tail(family: str, counts: TailCounts, start: np.ndarray | None = None) -> np.ndarray | None:
    """Maximum-likelihood theta of a parametric `family` on `counts`, or None when there are fewer than
    `MIN_TAIL_EVENTS` churn events or the fit does not converge to a finite, moderate shape."""
    if counts.deaths.sum() < MIN_TAIL_EVENTS:
        return None
    x0 = counts.start() if start is None else np.asarray(start, dtype=float)
    scale = max(float(counts.leaving.sum()), 1.0)

    def loss(theta: np.ndarray) -> float:
        value = -log_likelihood(family, theta, counts) / scale
        return value if np.isfinite(value) else np.inf  # overflow far from the optimum: a step to reject

    # Nelder-Mead: two parameters, a warm start, and steps into overflow simply rejected
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fit = optimize.minimize(loss, x0, method="Nelder-Mead",
                                options={"xatol": 1e-6, "fatol": 1e-10, "initial_simplex": x0 + _SIMPLEX})
    if not fit.success or not np.isfinite(fit.fun) or abs(fit.x[1]) >= MAX_LOG_SIGMA:
        return None
    return fit.x


#: Steps of the starting simplex around theta (log-time location, log scale).
_SIMPLEX = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1]])
#: Largest |log sigma| taken as a fit: beyond it the shape runs off to an edge (as `stats.mle.PARAMETER_RANGE`).
MAX_LOG_SIGMA = 5.0


def theta_from_lifelines(family: str, fitter: ParametricRegressionFitter) -> np.ndarray:
    """theta (mu, log sigma) of an intercept-only lifelines AFT fit of `family`."""
    params = fitter.params_
    if family == "weibull":
        return np.array([params[("lambda_", "Intercept")], -params[("rho_", "Intercept")]], dtype=float)
    if family == "lognormal":
        return np.array([params[("mu_", "Intercept")], params[("sigma_", "Intercept")]], dtype=float)
    return np.array([params[("alpha_", "Intercept")], -params[("beta_", "Intercept")]], dtype=float)


def constant_hazard(t: np.ndarray, e: np.ndarray, entry: np.ndarray, w: np.ndarray, start: float, end: float
                    ) -> float:
    """Churn events per customer-month after entry within (start, end] (months), with case weights `w`; 0 when
    nobody is exposed."""
    exposure = np.sum(w * np.clip(np.minimum(t, end) - np.maximum(entry, start), 0.0, None))
    died = np.sum(w * (e & (t > start) & (t <= end)))
    return float(died / exposure) if exposure > 0 else 0.0
