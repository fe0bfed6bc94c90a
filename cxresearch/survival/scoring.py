"""Every lifetime-model metric of several models at once, with customer-level bootstrap confidence intervals.

A bootstrap resample of n customers is the same as giving each customer a multinomial frequency weight (how
often it was drawn). All metrics of `survival.evaluation` with left truncation (`entry`) are sums over
customers and pairs of customers, so they are written here with frequency weights: a replicate is one weight
vector, and the pairwise sums of all replicates come from one matrix product per block of churners instead of a
loop over resamples. Weights of all ones give exactly `survival.evaluation`'s numbers (a test checks it, and that
a replicate equals the metric of the resampled data). All models are scored on the same resamples, so the skill
score against the reference model (1 - IBS_model / IBS_reference) gets a paired interval.

Durations in months; `entry` is the tenure at which each customer came under observation (0 without left
truncation: the formulas then equal the IPCW ones except at tied times, see `survival.evaluation`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.integrate import trapezoid

from cxresearch.errors import NotEstimableError
from cxresearch.stats.tables import TableSummary
from cxresearch.survival.evaluation import TIED_TOL

#: Rows of churners per block of the pairwise matrices (bounds memory at block x customers floats).
BLOCK = 256

#: Metric names of the summary table and what each answers.
METRICS: dict[str, str] = {
    "harrell_c": "ranking: share of comparable pairs where the customer who left first had the higher risk",
    "uno_c": "ranking up to tau, weighted so the censoring pattern does not matter",
    "auc": "at a horizon: chance a churner by then outranks a customer still active then",
    "mean_auc": "time-dependent AUC averaged over the horizons",
    "brier": "at a horizon: mean squared error of the predicted probability of still being active",
    "ibs": "Brier score integrated over the horizons (lower is better)",
    "ibs_skill": "1 - IBS / IBS of the reference model (0: no better than knowing nothing, 1: perfect)",
}


@dataclass(frozen=True)
class ModelPredictions:
    """What one model predicts for each evaluated customer: a risk score and survival probabilities at `times`."""

    risk: np.ndarray  # (n,) higher = expected to leave sooner
    times: np.ndarray  # (k,) months
    survival: np.ndarray  # (n, k) predicted probability of still being a customer at each time

    def at(self, horizons: Sequence[float]) -> np.ndarray:
        """Predicted survival (n, len(horizons)) at horizons that are among `times` (months)."""
        index = np.searchsorted(self.times, np.asarray(horizons, dtype=float))
        if (index >= self.times.size).any() or not np.allclose(self.times[index], horizons):
            raise ValueError(f"horizons {list(horizons)} are not all among the predicted times")
        return self.survival[:, index]


@dataclass
class ModelScores(TableSummary):
    """Metrics of each model with bootstrap percentile 95% CIs (months for horizons, probabilities otherwise).

    `table` (`summary()`), one row per model, metric and horizon: estimate and 95% bootstrap CI (NaN horizon for global metrics).
    """

    table: pd.DataFrame  # model, metric, horizon, estimate, ci_low, ci_high
    n: int
    events: int
    n_boot: int
    reference: str

    def value(self, model: str, metric: str, horizon: float | None = None) -> pd.Series:
        """The row (estimate, ci_low, ci_high) of one model, metric and horizon (months, None for global)."""
        rows = self.table[(self.table["model"] == model) & (self.table["metric"] == metric)]
        if horizon is not None:
            rows = rows[np.isclose(rows["horizon"], horizon)]
        if len(rows) != 1:
            raise KeyError(f"no single row for {model}, {metric}, {horizon}")
        return rows.iloc[0][["estimate", "ci_low", "ci_high"]]

    def _repr_html_(self) -> str:
        """The summary as an HTML table, metrics as rows and models as columns (estimate and CI)."""
        shown = self.table.assign(
            value=[f"{e:.3f} ({lo:.3f}-{hi:.3f})" for e, lo, hi in
                   zip(self.table["estimate"], self.table["ci_low"], self.table["ci_high"])],
            horizon=self.table["horizon"].map(lambda h: "" if np.isnan(h) else f"{h:g}"),
        )
        wide = shown.pivot_table(index=["metric", "horizon"], columns="model", values="value", aggfunc="first",
                                 sort=False)
        caption = (f"{self.n:,} customers, {self.events:,} churned; 95% CIs from {self.n_boot} customer-level "
                   f"bootstrap resamples; skill against {self.reference}")
        return f"<p>{html.escape(caption)}</p>" + wide.to_html()


def bootstrap_weights(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Frequency weights (n_boot + 1, n): row 0 all ones (the estimate), then multinomial resamples of n."""
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    return np.vstack([np.ones(n), draws])


def _weighted_km(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truncation-aware Kaplan-Meier with frequency weights: unique times, S at them, at-risk weights Y there."""
    times, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=weight * event, minlength=times.size)
    order = np.argsort(time)
    # Y(t) = weight with T >= t minus weight with entry >= t (those also have T > t)
    tail = np.r_[np.cumsum(weight[order][::-1])[::-1], 0.0]
    at_risk = tail[np.searchsorted(time[order], times, side="left")]
    entry_order = np.argsort(entry)
    entry_tail = np.r_[np.cumsum(weight[entry_order][::-1])[::-1], 0.0]
    at_risk = at_risk - entry_tail[np.searchsorted(entry[entry_order], times, side="left")]
    ratio = np.divide(deaths, at_risk, out=np.zeros(times.size), where=deaths > 0)
    return times, np.cumprod(1.0 - ratio), at_risk


def _km_at(times: np.ndarray, survival: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Right-continuous step function S at t (months), 1 before the first time."""
    index = np.searchsorted(times, t, side="right") - 1
    return np.where(index >= 0, survival[np.clip(index, 0, None)], 1.0)


@dataclass(frozen=True)
class _Replicates:
    """Per replicate: each churner's Kaplan-Meier jump share S(T-)/Y(T) and the Kaplan-Meier S at horizons."""

    jump: np.ndarray  # (B, n_events)
    survival: np.ndarray  # (B, len(grid))


def _replicates(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray, weights: np.ndarray, grid: np.ndarray
) -> _Replicates:
    """Kaplan-Meier quantities of every bootstrap replicate (rows of `weights`)."""
    churned = np.flatnonzero(event)
    jump = np.zeros((weights.shape[0], churned.size))
    survival = np.zeros((weights.shape[0], grid.size))
    for b, w in enumerate(weights):
        times, s, at_risk = _weighted_km(time, event, entry, w)
        index = np.searchsorted(times, time[churned])
        before = np.r_[1.0, s[:-1]][index]
        jump[b] = np.divide(before, at_risk[index], out=np.zeros(churned.size), where=at_risk[index] > 0)
        survival[b] = _km_at(times, s, grid)
    return _Replicates(jump, survival)


def _pair_sums(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray, risk: np.ndarray | None, weights: np.ndarray
) -> np.ndarray:
    """For each churner i and replicate b: sum over comparable j of w_bj (risk None) or of w_bj x concordance.

    Comparable: T_j > T_i, or T_j = T_i with j censored, and j observed when i left (entry_j < T_i).
    Concordance: 1 when risk_i > risk_j, 1/2 when tied within `TIED_TOL`.
    """
    churned = np.flatnonzero(event)
    out = np.empty((churned.size, weights.shape[0]))
    for start in range(0, churned.size, BLOCK):
        rows = churned[start:start + BLOCK]
        t_i = time[rows][:, None]
        comparable = ((time[None, :] > t_i) | ((time[None, :] == t_i) & ~event[None, :])) & (entry[None, :] < t_i)
        matrix = comparable.astype(float)
        if risk is not None:
            diff = risk[rows][:, None] - risk[None, :]
            tied = np.abs(diff) <= TIED_TOL
            matrix *= np.where(tied, 0.5, (diff > 0).astype(float))
        out[start:start + BLOCK] = matrix @ weights.T
    return out


def _concordances(
    time: np.ndarray, event: np.ndarray, weights: np.ndarray, pairs: np.ndarray, concordant: np.ndarray,
    event_weight: np.ndarray,
) -> np.ndarray:
    """Concordance per replicate: sum_i w_bi u_bi concordant_ib / sum_i w_bi u_bi pairs_ib (u: event weights)."""
    w_events = weights[:, event] * event_weight
    numerator = (w_events * concordant.T).sum(axis=1)
    denominator = (w_events * pairs.T).sum(axis=1)
    return np.divide(numerator, denominator, out=np.full(weights.shape[0], np.nan), where=denominator > 0)


def _auc(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray, score: np.ndarray, t: float, weights: np.ndarray,
    jump: np.ndarray,
) -> np.ndarray:
    """Cumulative/dynamic AUC at t (months) per replicate: churners by t weighted by their jump share."""
    churned = np.flatnonzero(event)
    case = time[churned] <= t
    controls = np.flatnonzero((time > t) & (entry < t))
    cases = churned[case]
    diff = score[cases][:, None] - score[controls][None, :]
    won = np.where(np.abs(diff) <= TIED_TOL, 0.5, (diff > 0).astype(float))
    won_sums = won @ weights[:, controls].T  # (cases, B)
    case_weight = weights[:, cases] * jump[:, case]
    numerator = (case_weight * won_sums.T).sum(axis=1)
    denominator = case_weight.sum(axis=1) * weights[:, controls].sum(axis=1)
    return np.divide(numerator, denominator, out=np.full(weights.shape[0], np.nan), where=denominator > 0)


def _brier(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray, predicted: np.ndarray, t: float, weights: np.ndarray,
    jump: np.ndarray, survival_t: np.ndarray,
) -> np.ndarray:
    """Brier score at t (months) per replicate: churners weigh their jump share, the observed active share S(t)."""
    churned = np.flatnonzero(event)
    case = time[churned] <= t
    cases = churned[case]
    case_part = (weights[:, cases] * jump[:, case] * np.square(predicted[cases])).sum(axis=1)
    control = (time > t) & (entry < t)
    control_weight = weights[:, control]
    totals = control_weight.sum(axis=1)
    mean_error = np.divide(control_weight @ np.square(1.0 - predicted[control]), totals,
                           out=np.zeros(weights.shape[0]), where=totals > 0)
    return case_part + survival_t * mean_error


def _model_replicates(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray, predictions: ModelPredictions, horizons: np.ndarray,
    tau: float, weights: np.ndarray, km: _Replicates, pairs: np.ndarray,
) -> dict[tuple[str, float], np.ndarray]:
    """Every metric of one model per replicate, keyed by (metric, horizon in months; NaN when global)."""
    grid = predictions.times[(predictions.times >= horizons[0]) & (predictions.times <= horizons[-1])]
    concordant = _pair_sums(time, event, entry, predictions.risk, weights)
    before_tau = time[event] < tau
    out = {
        ("harrell_c", np.nan): _concordances(time, event, weights, pairs, concordant, np.ones(before_tau.size)),
        ("uno_c", tau): _concordances(time, event, weights, pairs, concordant, np.square(km.jump) * before_tau),
    }
    km_grid = km.survival
    at_grid = predictions.at(grid)
    brier = np.column_stack([
        _brier(time, event, entry, at_grid[:, k], t, weights, km.jump, km_grid[:, k]) for k, t in enumerate(grid)
    ])
    auc = []
    for h in horizons:
        k = int(np.searchsorted(grid, h))
        auc.append(_auc(time, event, entry, 1.0 - at_grid[:, k], h, weights, km.jump))
        out[("auc", h)] = auc[-1]
        out[("brier", h)] = brier[:, k]
    survival_h = km_grid[:, np.searchsorted(grid, horizons)]
    drop = -np.diff(np.hstack([np.ones((weights.shape[0], 1)), survival_h]), axis=1)
    out[("mean_auc", np.nan)] = (np.column_stack(auc) * drop).sum(axis=1) / (1.0 - survival_h[:, -1])
    out[("ibs", np.nan)] = trapezoid(brier, grid, axis=1) / (grid[-1] - grid[0])
    return out


def score_models(
    time: np.ndarray,
    event: np.ndarray,
    entry: np.ndarray | None,
    predictions: Mapping[str, ModelPredictions],
    horizons: Sequence[float] = (3.0, 6.0, 12.0),
    tau: float | None = None,
    n_boot: int = 100,
    seed: int = 0,
    reference: str | None = None,
) -> ModelScores:
    """Harrell's and Uno's C, AUC and Brier score at each horizon, mean AUC, IBS and skill of each model, with CIs.

    Parameters
    ----------
    time, event : array-like
        Lifetime in months (to churn or censoring) and whether it ended in churn, one per evaluated customer.
    entry : array-like or None
        Tenure in months at which each customer came under observation (left truncation); None means 0.
    predictions : mapping of str to ModelPredictions
        Per model: risk scores and predicted survival at times that include every horizon and, for the IBS,
        the grid between the first and last horizon (all predicted times in that span are used).
    horizons : sequence of float
        Months at which AUC and Brier score are computed; at least two, within the follow-up.
    tau : float, optional
        Truncation time of Uno's C in months (default: the last horizon).
    n_boot : int
        Customer-level bootstrap resamples for the percentile 95% CIs.
    seed : int
        Seed of the resamples (the same resamples for every model, so differences are paired).
    reference : str, optional
        Model whose IBS is the "knowing nothing" benchmark of `ibs_skill` (usually the Kaplan-Meier model).

    Returns
    -------
    ModelScores
        `.summary()`: model, metric, horizon, estimate, ci_low, ci_high (metrics in `METRICS`).

    References
    ----------
    .. [1] Efron, B., Tibshirani, R.J. (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 13.
    .. [2] Graf, E. et al. (1999). Statistics in Medicine 18, 2529-2545 (Brier score, skill against no model).
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    entry = np.zeros(time.size) if entry is None else np.asarray(entry, dtype=float)
    horizons = np.unique(np.asarray(horizons, dtype=float))
    if horizons.size < 2 or horizons[-1] >= time.max() or not event.any():
        raise NotEstimableError("need churners, at least two horizons and follow-up beyond the last horizon",
                                needs="more history")
    tau = float(horizons[-1]) if tau is None else float(tau)
    weights = bootstrap_weights(time.size, n_boot, seed)
    first = next(iter(predictions.values()))
    if any(not np.array_equal(p.times, first.times) for p in predictions.values()):
        raise ValueError("all models must predict survival at the same times")
    grid = first.times[(first.times >= horizons[0]) & (first.times <= horizons[-1])]
    km = _replicates(time, event, entry, weights, grid)
    pairs = _pair_sums(time, event, entry, None, weights)
    values = {name: _model_replicates(time, event, entry, p, horizons, tau, weights, km, pairs)
              for name, p in predictions.items()}
    if reference is not None:
        for metrics in values.values():
            metrics[("ibs_skill", np.nan)] = 1.0 - metrics[("ibs", np.nan)] / values[reference][("ibs", np.nan)]
    rows = [{"model": name, "metric": metric, "horizon": h, "estimate": float(v[0]),
             "ci_low": float(np.nanpercentile(v[1:], 2.5)) if n_boot else np.nan,
             "ci_high": float(np.nanpercentile(v[1:], 97.5)) if n_boot else np.nan}
            for name, metrics in values.items() for (metric, h), v in metrics.items()]
    order = {m: i for i, m in enumerate(METRICS)}
    table = pd.DataFrame(rows).sort_values(["metric", "horizon"], key=lambda c: c.map(order) if c.name == "metric"
                                           else c, kind="stable").reset_index(drop=True)
    return ModelScores(table, int(time.size), int(event.sum()), n_boot, reference or "")
