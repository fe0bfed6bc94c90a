"""Parametric lifetime models: Weibull, log-normal and log-logistic accelerated failure time (AFT) fits, compared
by AIC and used to extrapolate customer lifetime beyond the observed follow-up.

Kaplan-Meier stops where follow-up stops; a customer-lifetime value needs the tail. An AFT model assumes a shape
for the whole curve, so its extrapolation is only as good as that assumption: the comparison by AIC says which
shape fits the observed part best, and the spread between the three shows how much the tail depends on the
choice (Latimer 2013, Med Decis Making 33:743-754, on survival extrapolation). Durations in months; left
truncation (`entry`) as in `cxresearch.survival.kaplan_meier.kaplan_meier`. Estimators: lifelines' `*AFTFitter`s.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import LogLogisticAFTFitter, LogNormalAFTFitter, WeibullAFTFitter
from lifelines.exceptions import ConvergenceError
from lifelines.fitters import ParametricRegressionFitter
from scipy import stats

from cxresearch.errors import NotEstimableError
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.mle import MAX_LOG_SE, PARAMETER_RANGE
from cxresearch.stats.units import DAYS_PER_MONTH
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns
from cxresearch.survival.groups import ALL, split_groups

#: Distribution name -> (lifelines fitter, its scale parameter, its shape parameter).
DISTRIBUTIONS: dict[str, tuple[type[ParametricRegressionFitter], str, str]] = {
    "weibull": (WeibullAFTFitter, "lambda_", "rho_"),
    "lognormal": (LogNormalAFTFitter, "mu_", "sigma_"),
    "loglogistic": (LogLogisticAFTFitter, "alpha_", "beta_"),
}
#: Fewest churn events the AFT fits need: below it a two-parameter shape rests on a handful of lifetimes.
MIN_EVENTS = 10


def _survival(name: str, scale: np.ndarray, shape: np.ndarray, t: np.ndarray) -> np.ndarray:
    """S(t) of one distribution from its linear predictors (lifelines parameterisation); broadcasts."""
    with np.errstate(divide="ignore"):
        log_t = np.log(np.maximum(t, 1e-12))
    if name == "weibull":  # lambda = exp(scale), rho = exp(shape)
        return np.exp(-np.exp(np.exp(shape) * (log_t - scale)))
    if name == "lognormal":  # mu = scale, sigma = exp(shape)
        return stats.norm.sf((log_t - scale) / np.exp(shape))
    # log-logistic: alpha = exp(scale), beta = exp(shape)
    return 1.0 / (1.0 + np.exp(np.exp(shape) * (log_t - scale)))


@dataclass
class AFTComparison:
    """AFT fits of several distributions (one scale per group, a common shape), compared by AIC."""

    group: str | None
    groups: list[str]
    comparison: pd.DataFrame  # model: log_likelihood, n_params, aic, delta_aic, best
    fitters: dict[str, ParametricRegressionFitter] = field(repr=False)
    max_follow_up: float = 0.0  # months
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> str:
        """Distribution with the lowest AIC."""
        return str(self.comparison["aic"].idxmin())

    def summary(self) -> pd.DataFrame:
        """Per distribution: log-likelihood, parameters, AIC, difference from the best AIC."""
        return self.comparison.copy()

    def survival(
        self, times: Sequence[float], model: str | None = None, n_draws: int = 200, seed: int = 0
    ) -> pd.DataFrame:
        """Survival (fraction still active) at `times` (months) per group under `model` (default: best AIC), with
        95% intervals from `n_draws` draws of the parameters from their asymptotic normal distribution."""
        model = model or self.best
        draws = self._draws(model, n_draws, seed)
        t = np.asarray(times, dtype=float)
        rows = []
        for g in self.groups:
            s, point = self._curves(model, g, draws, t)
            lo, hi = np.percentile(s, [2.5, 97.5], axis=0)
            rows.append(pd.DataFrame({"group": g, "model": model, "time": t, "survival": point, "ci_low": lo,
                                      "ci_high": hi, "extrapolated": t > self.max_follow_up}))
        return pd.concat(rows, ignore_index=True)

    def extrapolate(
        self, horizon_months: float, model: str | None = None, n_draws: int = 200, seed: int = 0, grid: int = 400
    ) -> pd.DataFrame:
        """Per group: restricted mean lifetime within `horizon_months` (months, the area under the fitted curve) and
        survival at the horizon (fraction), with 95% intervals from parameter draws; horizon may exceed follow-up."""
        model = model or self.best
        draws = self._draws(model, n_draws, seed)
        t = np.linspace(0.0, horizon_months, grid + 1)
        rows = []
        for g in self.groups:
            curves, point = self._curves(model, g, draws, t)
            area = np.trapezoid(curves, t, axis=1)
            rows.append({
                "group": g, "model": model, "horizon": float(horizon_months),
                "rmst": float(np.trapezoid(point, t)),
                "rmst_ci_low": float(np.percentile(area, 2.5)), "rmst_ci_high": float(np.percentile(area, 97.5)),
                "survival_at_horizon": float(point[-1]),
                "survival_ci_low": float(np.percentile(curves[:, -1], 2.5)),
                "survival_ci_high": float(np.percentile(curves[:, -1], 97.5)),
                "beyond_follow_up": bool(horizon_months > self.max_follow_up),
            })
        return pd.DataFrame(rows)

    def to_estimates(self, horizon_months: float, model: str | None = None, n_draws: int = 200,
                     seed: int = 0) -> dict[str, Estimate]:
        """Extrapolated restricted mean lifetime per group (months within `horizon_months`) as estimates."""
        out = {}
        for row in self.extrapolate(horizon_months, model, n_draws, seed).itertuples():
            out[f"aft_rmst{horizon_months:g}_{row.group}"] = Estimate(
                value=row.rmst, unit="months", ci_low=row.rmst_ci_low, ci_high=row.rmst_ci_high,
                label=f"Expected months active within the first {horizon_months:g} ({row.group}, {row.model} AFT)",
                note=("extrapolated beyond the observed follow-up of "
                      f"{self.max_follow_up:.0f} months" if row.beyond_follow_up else ""),
            )
        return out

    def _draws(self, model: str, n_draws: int, seed: int) -> pd.DataFrame:
        """Parameter draws (rows) from N(params, covariance)."""
        fitter = self.fitters[model]
        rng = np.random.default_rng(seed)
        cov = fitter.variance_matrix_.loc[fitter.params_.index, fitter.params_.index].to_numpy()
        values = rng.multivariate_normal(fitter.params_.to_numpy(), cov, size=n_draws, method="eigh")
        return pd.DataFrame(values, columns=fitter.params_.index)

    def _curves(
        self, model: str, group: str, draws: pd.DataFrame, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Survival of `group` at months `t`: one curve per parameter draw (draws x times) and at the estimate."""
        scale, shape = self._predictors(model, group, draws)
        point_scale, point_shape = self._predictors(model, group, None)
        curves = _survival(model, scale[:, None], shape[:, None], t[None, :])
        return curves, _survival(model, point_scale, point_shape, t)

    def _predictors(self, model: str, group: str, draws: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
        """Scale and shape linear predictors of `group` (arrays over draws, or scalars at the estimate)."""
        _, scale_name, shape_name = DISTRIBUTIONS[model]
        params = self.fitters[model].params_ if draws is None else draws
        scale = params[(scale_name, "Intercept")]
        if group != self.groups[0]:
            scale = scale + params[(scale_name, _dummy(group))]
        return np.asarray(scale, dtype=float), np.asarray(params[(shape_name, "Intercept")], dtype=float)


def fit_aft(
    df: pd.DataFrame,
    group: str | None = None,
    columns: LifetimeColumns = LIFETIMES,
    distributions: Sequence[str] = tuple(DISTRIBUTIONS),
    min_group_size: int = 30,
) -> AFTComparison:
    """Fit AFT models of lifetime (months) for each of `distributions`, optionally by `group`, and compare by AIC.

    Each group gets its own scale (the AFT "time ratio": the group lives that many times longer), all groups share
    the shape. AIC = 2k - 2 log L (Akaike 1974, IEEE TAC 19:716-723); with left truncation the likelihood is
    conditional on survival to entry (lifelines `entry_col`). Groups as in `kaplan_meier` (small levels dropped).

    A distribution whose fit fails (no convergence, a shape at the edge of its range, no usable standard errors:
    `_aft_problem`) is left out with a note; `NotEstimableError` when all fail or there are fewer than
    `MIN_EVENTS` churn events.

    Parameters
    ----------
    df : one row per customer with `duration` (months) and `event`.
    group : optional column; each level gets its own scale.
    columns : which columns hold the lifetime (`LifetimeColumns`: duration, event, entry); with an `entry`
        column, risk sets start at entry (left truncation).
    distributions : lifelines AFT families to fit.
    min_group_size : levels with fewer customers are dropped.

    Returns
    -------
    AFTComparison
        The fits, their AIC comparison and the best model.

    References
    ----------
    Akaike (1974), IEEE TAC 19:716-723; Davidson-Pilon (2019), JOSS 4(40):1317 (lifelines).
    """
    unknown = set(distributions) - set(DISTRIBUTIONS)
    if unknown:
        raise ValueError(f"unknown distributions {sorted(unknown)}; known: {sorted(DISTRIBUTIONS)}")
    groups, notes = split_groups(df, group, columns, min_group_size)
    names = list(groups)
    data = pd.concat(groups.values(), keys=names, names=["_group", None]).reset_index(level="_group")
    # durations of exactly 0 have no density under these models: move them to half a day
    zero = data[columns.duration] <= 0
    if zero.any():
        notes.append(f"{int(zero.sum())} lifetimes of 0 months set to half a day for the parametric fits")
        data.loc[zero, columns.duration] = 0.5 / DAYS_PER_MONTH
    design = data[[columns.duration, columns.event] + ([columns.entry] if columns.entry else [])].copy()
    for name in names[1:]:
        design[_dummy(name)] = (data["_group"] == name).astype(float)
    events = int(data[columns.event].astype(bool).sum())
    if events < MIN_EVENTS:
        raise NotEstimableError(f"{events or 'no'} churn event{'' if events == 1 else 's'} in the data: a "
                                f"parametric lifetime curve needs at least {MIN_EVENTS}", needs="churners")
    fitters: dict[str, ParametricRegressionFitter] = {}
    rows, failures = [], []
    for dist in distributions:
        fitter, problem = _fit_one(dist, design, columns.duration, columns.event, columns.entry)
        if problem:
            failures.append(f"{dist}: {problem}")
            continue
        fitters[dist] = fitter
        rows.append({"model": dist, "log_likelihood": float(fitter.log_likelihood_),
                     "n_params": len(fitter.params_), "aic": float(fitter.AIC_)})
    if not rows:
        raise NotEstimableError("no parametric lifetime model fits (" + "; ".join(failures) + ")")
    notes.extend(f"{failure}: left out of the comparison" for failure in failures)
    comparison = pd.DataFrame(rows).set_index("model")
    comparison["delta_aic"] = comparison["aic"] - comparison["aic"].min()
    comparison["best"] = comparison["delta_aic"] == 0
    return AFTComparison(
        group=group, groups=names if group else [ALL], comparison=comparison, fitters=fitters,
        max_follow_up=float(data[columns.duration].max()), notes=notes,
    )


def _fit_one(
    dist: str, design: pd.DataFrame, duration: str, event: str, entry: str | None
) -> tuple[ParametricRegressionFitter | None, str]:
    """One AFT fit and, when it is no result, why (empty when it is usable)."""
    cls = DISTRIBUTIONS[dist][0]
    try:
        # no ancillary model: group dummies act on the scale only, the shape is common to all groups
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines' collinearity hints: the checks below judge the fit
            fitter = cls().fit(design, duration, event, entry_col=entry, ancillary=False)
    except ConvergenceError:
        return None, "the fit did not converge"
    return fitter, _aft_problem(dist, fitter)


def _aft_problem(dist: str, fitter: ParametricRegressionFitter) -> str:
    """Why a fitted AFT model is no result: a shape at the edge of its range or unusable standard errors."""
    shape = float(np.exp(fitter.params_[(DISTRIBUTIONS[dist][2], "Intercept")]))
    low, high = PARAMETER_RANGE
    if not low <= shape <= high:
        return f"its shape ran towards {'0' if shape < low else 'infinity'} ({shape:.3g})"
    se = np.sqrt(np.diag(fitter.variance_matrix_.to_numpy(float)))
    if not np.all(np.isfinite(se)) or not np.all(np.isfinite(fitter.params_.to_numpy(float))):
        return "the likelihood is flat in some parameter (no finite standard error)"
    if se.max() > MAX_LOG_SE:
        kind, term = fitter.params_.index[int(np.argmax(se))]
        which = "shape" if kind == DISTRIBUTIONS[dist][2] else "scale"
        return (f"its {which} ({term}) is barely informed by the data (standard error {se.max():.1f} on the log "
                "scale; e.g. a group without churn)")
    return ""


def _dummy(level: str) -> str:
    """Column name of a group's indicator in the AFT design."""
    return f"group={level}"
