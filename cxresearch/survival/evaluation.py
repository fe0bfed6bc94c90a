"""How well a lifetime model predicts: concordance, time-dependent AUC and Brier scores under right censoring.

A naive C-index or Brier score is biased when lifetimes are censored, because who is censored depends on when
they joined. The metrics here re-weight the observed lifetimes by the inverse probability of still being
uncensored (IPCW), with that probability G(t) estimated by the reverse Kaplan-Meier estimator of the censoring
distribution. Durations in months (any unit works, as long as times, horizons and lifetimes share it).

Conventions, chosen to equal scikit-survival's `sksurv.metrics` exactly (tests check this to 1e-6):

- Ties in time: a pair is comparable when the shorter lifetime ended in churn; an event and a censoring at the
  same time are comparable (the censored customer outlived the event), two events at the same time are not.
- Ties in risk: scores within `TIED_TOL` of each other count as half concordant.
- The reverse Kaplan-Meier estimate of G treats events as happening before censorings at the same time, and is
  evaluated right-continuously: the weight of an event at T is 1 / G(T), not 1 / G(T-).
- G cannot be extrapolated: an evaluation time beyond the last training time raises `ValueError`, unless G has
  already reached zero (then the weight is zero).

Left truncation (`entry`: the tenure in months at which a customer came under observation, e.g. customers
who joined before the data starts). A customer counts as at risk at t only when entry < t <= T, as in the
Kaplan-Meier estimator with delayed entry. The reverse Kaplan-Meier G cannot then stand for the chance of
being observed (scikit-survival refuses it too), so with `entry` the weights come from the evaluated lifetimes
themselves: the probability of being under observation at t is proportional to Y(t) / S(t-), with Y the
number at risk and S the truncation-aware Kaplan-Meier survival, so an event at T weighs S(T-) / Y(T) (its
share of the Kaplan-Meier jump) and the customers still observed at a horizon t share S(t) equally. Without
truncation and without tied times these weights equal 1 / (n G(T-)) and 1 / (n G(t)), so the `entry`
formulas reduce to the IPCW ones (a test checks this); they differ from scikit-survival's only by G(T-)
against G(T) at tied times. This assumes entry independent of the risk score and of the lifetime beyond entry
(quasi-independent truncation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import trapezoid

from cxresearch.errors import NotEstimableError

#: Two risk scores this close count as tied (scikit-survival's `tied_tol`).
TIED_TOL = 1e-8


@dataclass(frozen=True)
class StepSurvival:
    """A right-continuous Kaplan-Meier step function: probability of lasting beyond each time (months)."""

    times: np.ndarray
    survival: np.ndarray

    def at(self, t: np.ndarray | float) -> np.ndarray:
        """S(t), a probability, for each t (months); raises beyond the last time unless S has reached zero."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        beyond = t > self.times[-1]
        if beyond.any() and self.survival[-1] > 0:
            raise ValueError(f"time must be smaller than largest observed time point: {self.times[-1]}")
        index = np.searchsorted(self.times, t, side="right") - 1
        values = np.where(index >= 0, self.survival[np.clip(index, 0, None)], 1.0)
        return np.where(beyond, 0.0, values)


@dataclass(frozen=True)
class ObservedLifetimes:
    """Lifetimes as arrays, one value per customer: months to churn or censoring, whether it ended in churn, and
    the months at which each customer came under observation (`entry`, left truncation; None = from signup).

    The counterpart of scikit-survival's structured `y` (`Surv.from_arrays(event, time)`), with delayed entry.
    """

    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None = None

    def __post_init__(self) -> None:
        time, event = np.asarray(self.time, dtype=float), np.asarray(self.event, dtype=bool)
        if time.shape != event.shape:
            raise ValueError("time and event must have one value per lifetime")
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "event", event)
        if self.entry is not None:
            entry = np.asarray(self.entry, dtype=float)
            if entry.shape != time.shape:
                raise ValueError("entry must have one value per lifetime")
            if (entry < 0).any() or (entry >= time).any():
                raise ValueError("entry must satisfy 0 <= entry < time for every customer")
            object.__setattr__(self, "entry", entry)


@dataclass(frozen=True)
class Concordance:
    """A concordance index (probability) and the comparable pairs behind it (counts of pairs)."""

    value: float
    concordant: int
    discordant: int
    tied_risk: int
    tied_time: int


@dataclass(frozen=True)
class TimeDependentAUC:
    """Cumulative/dynamic AUC (probability) at each horizon (months) and its survival-weighted mean."""

    times: np.ndarray
    auc: np.ndarray
    mean_auc: float


@dataclass(frozen=True)
class BrierScores:
    """IPCW Brier score (squared probability error) at each horizon (months)."""

    times: np.ndarray
    scores: np.ndarray


def kaplan_meier_step(
    time: np.ndarray, event: np.ndarray, reverse: bool = False, entry: np.ndarray | None = None
) -> StepSurvival:
    """Kaplan-Meier survival of lifetimes (months), or with `reverse` of censoring times: G(t) = P(C > t).

    With `entry` (months) a customer is at risk at t only when entry < t <= T (delayed entry).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    if reverse and entry is not None:
        raise ValueError("the censoring distribution cannot be estimated from left-truncated lifetimes")
    if reverse and event.all():
        return StepSurvival(np.unique(time), np.ones(np.unique(time).size))
    times, inverse = np.unique(time, return_inverse=True)
    n_events = np.bincount(inverse, weights=event, minlength=times.size)
    n_total = np.bincount(inverse, minlength=times.size).astype(float)
    at_risk = _at_risk(time, times, entry)
    if reverse:
        # Events at time t leave the risk set before the censorings at t.
        at_risk, n_events = at_risk - n_events, n_total - n_events
    ratio = np.divide(n_events, at_risk, out=np.zeros(times.size), where=n_events != 0)
    return StepSurvival(times, np.cumprod(1.0 - ratio))


def _at_risk(time: np.ndarray, at: np.ndarray, entry: np.ndarray | None) -> np.ndarray:
    """Number at risk at each time in `at` (months): T >= t, and entry < t if entries are given."""
    ordered = np.sort(time)
    at_risk = time.size - np.searchsorted(ordered, at, side="left")
    if entry is not None:
        # Everyone with entry >= t also has T > t, so removing them leaves exactly entry < t <= T.
        at_risk = at_risk - (entry.size - np.searchsorted(np.sort(entry), at, side="left"))
    return at_risk.astype(float)


def _entry_weights(time: np.ndarray, event: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """Each event's share of the truncation-aware Kaplan-Meier jump, S(T-) / Y(T); zero for censorings."""
    km = kaplan_meier_step(time, event, entry=entry)
    before = np.r_[1.0, km.survival[:-1]]
    index = np.searchsorted(km.times, time[event])
    weight = np.zeros(time.size)
    weight[event] = before[index] / _at_risk(time, time[event], entry)
    return weight


def _weighted_concordance(
    time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray, entry: np.ndarray | None = None
) -> Concordance:
    """Concordance of risk scores with lifetimes (months), each event i's pairs weighted by weight[i].

    With `entry` (months), j is compared with i only if j was observed when i churned (entry_j < T_i).
    """
    numerator = denominator = 0.0
    concordant = discordant = tied_risk = tied_time = 0
    for i in np.flatnonzero(event):
        comparable = (time > time[i]) | ((time == time[i]) & ~event)
        if entry is not None:
            comparable &= entry < time[i]
        n_pairs = int(comparable.sum())
        tied_time += int(((time == time[i]) & ~event & comparable).sum())
        others = risk[comparable]
        ties = np.abs(others - risk[i]) <= TIED_TOL
        n_con = int((others[~ties] < risk[i]).sum())
        n_tie = int(ties.sum())
        numerator += weight[i] * (n_con + 0.5 * n_tie)
        denominator += weight[i] * n_pairs
        if weight[i] > 0:
            concordant += n_con
            tied_risk += n_tie
            discordant += n_pairs - n_con - n_tie
    if denominator == 0:
        raise NotEstimableError("no comparable pairs: the concordance index is not defined", needs="churners")
    return Concordance(numerator / denominator, concordant, discordant, tied_risk, tied_time)


def _scores(lifetimes: ObservedLifetimes, scores: np.ndarray) -> np.ndarray:
    """Risk scores or predicted probabilities as float, checked to have one row per lifetime; refuses lifetimes
    that are all censored (no metric is defined then)."""
    scores = np.asarray(scores, dtype=float)
    if scores.shape[0] != lifetimes.time.size:
        raise ValueError("time, event and the predictions must have the same length")
    if not lifetimes.event.any():
        raise NotEstimableError("all lifetimes are censored: no metric is defined", needs="churners")
    return scores


def concordance_harrell(lifetimes: ObservedLifetimes, risk: np.ndarray) -> Concordance:
    """Harrell's C: share of comparable pairs (lifetimes in months) where the higher risk churned first.

    With entry times (months) a pair counts only if the longer-lived customer was observed when the other churned.

    References
    ----------
    .. [1] Harrell, F.E., Lee, K.L., Mark, D.B. (1996). "Multivariable prognostic models: issues in developing
           models, evaluating assumptions and adequacy, and measuring and reducing errors". Statistics in
           Medicine 15(4), 361-387.
    """
    risk = _scores(lifetimes, risk)
    time, event = lifetimes.time, lifetimes.event
    return _weighted_concordance(time, event, risk, np.ones(time.size), lifetimes.entry)


def concordance_uno(
    lifetimes: ObservedLifetimes, risk: np.ndarray, tau: float | None, train: ObservedLifetimes | None = None
) -> Concordance:
    """Uno's C up to `tau` (months): Harrell's pairs weighted by 1 / G(T_i)^2, G from the training lifetimes.

    Events at or after `tau` get weight zero (their pairs stay in no count); without training lifetimes G is
    estimated from the evaluated ones. `tau=None` means no truncation. With entry times (months) pairs need
    entry_j < T_i and each event weighs (S(T_i-) / Y(T_i))^2, from the evaluated lifetimes (module docstring).

    References
    ----------
    .. [1] Uno, H., Cai, T., Pencina, M.J., D'Agostino, R.B., Wei, L.J. (2011). "On the C-statistics for
           evaluating overall adequacy of risk prediction procedures with censored survival data". Statistics
           in Medicine 30(10), 1105-1117.
    """
    risk = _scores(lifetimes, risk)
    time, event, entry = lifetimes.time, lifetimes.event, lifetimes.entry
    used = event if tau is None else event & (time < tau)
    if entry is not None:
        _no_training(train)
        weight = np.square(_entry_weights(time, event, entry)) * used
        return _weighted_concordance(time, event, risk, weight, entry)
    censoring = _censoring(lifetimes, train)
    g = censoring.at(time[used])
    if (g == 0).any():
        raise ValueError("censoring survival G is zero at an event time: choose a smaller tau")
    weight = np.zeros(time.size)
    weight[used] = 1.0 / np.square(g)
    return _weighted_concordance(time, event, risk, weight)


def _censoring(lifetimes: ObservedLifetimes, train: ObservedLifetimes | None) -> StepSurvival:
    """Reverse Kaplan-Meier G(t) from the training lifetimes (months), or from the evaluated ones if none."""
    source = lifetimes if train is None else train
    return kaplan_meier_step(source.time, source.event, reverse=True)


def _no_training(train: ObservedLifetimes | None) -> None:
    """Refuse training lifetimes with entry times: the weights then come from the evaluated lifetimes."""
    if train is not None:
        raise ValueError("with entry, the weights come from the evaluated lifetimes: pass train=None")


def _horizons(test_time: np.ndarray, times: np.ndarray | float) -> np.ndarray:
    """Sorted unique horizons (months), checked to lie within the evaluated follow-up [min, max)."""
    times = np.unique(np.atleast_1d(np.asarray(times, dtype=float)))
    if times.max() >= test_time.max() or times.min() < test_time.min():
        span = f"[{test_time.min()}; {test_time.max()}["
        raise NotEstimableError(f"all times must be within follow-up time of test data: {span}", needs="more history")
    return times


def cumulative_dynamic_auc(
    lifetimes: ObservedLifetimes, risk: np.ndarray, times: np.ndarray | float, train: ObservedLifetimes | None = None
) -> TimeDependentAUC:
    """AUC at each horizon t (months): IPCW-weighted churners by t (cases) against customers active at t.

    `risk` is one score per customer, or one per customer and horizon (n, len(times)). A case i weighs
    1 / G(T_i); ties in risk count one half. The mean AUC weights each horizon by the drop in the Kaplan-Meier
    survival of the test lifetimes since the previous horizon, divided by 1 - S(last horizon), as
    scikit-survival does. With entry times (months; no training lifetimes) a case weighs
    S(T_i-) / Y(T_i), the controls at t are those observed at t (entry < t < T), and S is truncation-aware.

    References
    ----------
    .. [1] Uno, H., Cai, T., Tian, L., Wei, L.J. (2007). "Evaluating prediction rules for t-year survivors
           with censored regression models". Journal of the American Statistical Association 102, 527-537.
    .. [2] Hung, H., Chiang, C.T. (2010). "Estimation methods for time-dependent AUC models with survival
           data". Canadian Journal of Statistics 38(1), 8-26.
    .. [3] Lambert, J., Chevret, S. (2016). "Summary measure of discrimination in survival models based on
           cumulative/dynamic time-dependent ROC curves". Statistical Methods in Medical Research 25(5),
           2088-2102.
    """
    risk = _scores(lifetimes, risk)
    test_time, test_event, entry = lifetimes.time, lifetimes.event, lifetimes.entry
    times = _horizons(test_time, times)
    scores = np.broadcast_to(risk[:, None], (risk.size, times.size)) if risk.ndim == 1 else risk
    if scores.shape[1] != times.size:
        raise ValueError(f"expected risk with {times.size} columns, got {scores.shape[1]}")
    if entry is None:
        censoring = _censoring(lifetimes, train)
        ipcw = np.zeros(test_time.size)
        ipcw[test_event] = 1.0 / censoring.at(test_time[test_event])
        observed = np.full(test_time.size, -np.inf)
    else:
        _no_training(train)
        ipcw = _entry_weights(test_time, test_event, entry)
        observed = entry
    auc = np.array(
        [_auc_at(test_time, test_event, scores[:, k], ipcw, t, observed < t) for k, t in enumerate(times)]
    )
    if times.size == 1:
        return TimeDependentAUC(times, auc, float(auc[0]))
    survival = kaplan_meier_step(test_time, test_event, entry=entry).at(times)
    drop = -np.diff(np.r_[1.0, survival])
    return TimeDependentAUC(times, auc, float((auc * drop).sum() / (1.0 - survival[-1])))


def _auc_at(
    time: np.ndarray, event: np.ndarray, score: np.ndarray, ipcw: np.ndarray, t: float, observed: np.ndarray
) -> float:
    """IPCW AUC (probability) at horizon t (months): weighted share of case-control pairs ranked right.

    `observed` marks who was under observation at t, the only customers who can serve as controls.
    """
    cases = np.flatnonzero((time <= t) & event)
    controls = score[(time > t) & observed]
    if cases.size == 0 or controls.size == 0:
        return float("nan")
    diff = score[cases][:, None] - controls[None, :]
    ties = np.abs(diff) <= TIED_TOL
    won = ((diff > 0) & ~ties).sum(axis=1) + 0.5 * ties.sum(axis=1)
    return float((ipcw[cases] * won).sum() / (ipcw[cases].sum() * controls.size))


def brier_score(
    lifetimes: ObservedLifetimes,
    survival_at_times: np.ndarray,
    times: np.ndarray | float,
    train: ObservedLifetimes | None = None,
) -> BrierScores:
    """IPCW Brier score at each horizon t (months) of predicted survival probabilities S_i(t).

    Churners by t contribute S_i(t)^2 / G(T_i), customers active at t contribute (1 - S_i(t))^2 / G(t),
    customers censored before t contribute zero; the sum is divided by all n. `survival_at_times` has shape
    (n, len(times)), or (n,) for one horizon. With entry times (months; no training lifetimes) a churner weighs
    S(T_i-) / Y(T_i) and the customers observed at t (entry < t < T) share S(t).

    References
    ----------
    .. [1] Graf, E., Schmoor, C., Sauerbrei, W., Schumacher, M. (1999). "Assessment and comparison of
           prognostic classification schemes for survival data". Statistics in Medicine 18(17-18), 2529-2545.
    """
    predicted = _scores(lifetimes, survival_at_times)
    test_time, test_event, entry = lifetimes.time, lifetimes.event, lifetimes.entry
    times = _horizons(test_time, times)
    predicted = predicted.reshape(test_time.size, -1)
    if predicted.shape[1] != times.size:
        raise ValueError(f"expected survival_at_times with {times.size} columns, got {predicted.shape[1]}")
    if entry is not None:
        _no_training(train)
        return BrierScores(times, _brier_truncated(test_time, test_event, predicted, times, entry))
    censoring = _censoring(lifetimes, train)
    g_t = censoring.at(times)
    g_own = censoring.at(test_time)
    scores = np.empty(times.size)
    for k, t in enumerate(times):
        case = (test_time <= t) & test_event
        control = test_time > t
        case_term = _safe_divide(np.square(predicted[:, k]) * case, g_own)
        g_now = np.full(test_time.size, g_t[k])
        control_term = _safe_divide(np.square(1.0 - predicted[:, k]) * control, g_now)
        scores[k] = np.mean(case_term + control_term)
    return BrierScores(times, scores)


def _brier_truncated(
    time: np.ndarray, event: np.ndarray, predicted: np.ndarray, times: np.ndarray, entry: np.ndarray
) -> np.ndarray:
    """Brier score at each horizon (months) of left-truncated lifetimes, weighted by Kaplan-Meier jumps."""
    case_weight = _entry_weights(time, event, entry)
    survival = kaplan_meier_step(time, event, entry=entry).at(times)
    scores = np.empty(times.size)
    for k, t in enumerate(times):
        case = (time <= t) & event
        control = (time > t) & (entry < t)
        case_part = (case_weight[case] * np.square(predicted[case, k])).sum()
        control_part = survival[k] * np.square(1.0 - predicted[control, k]).mean() if control.any() else 0.0
        scores[k] = case_part + control_part
    return scores


def _safe_divide(numerator: np.ndarray, g: np.ndarray) -> np.ndarray:
    """numerator / G, with zero where G is zero (no one left uncensored to stand in)."""
    return np.divide(numerator, g, out=np.zeros_like(numerator, dtype=float), where=g > 0)


def integrated_brier_score(
    lifetimes: ObservedLifetimes,
    survival_at_times: np.ndarray,
    times: np.ndarray,
    train: ObservedLifetimes | None = None,
) -> float:
    """Brier score averaged over the horizons (trapezoid rule over months, divided by their span).

    References
    ----------
    Graf et al. (1999), as for `brier_score`.
    """
    result = brier_score(lifetimes, survival_at_times, times, train)
    if result.times.size < 2:
        raise ValueError("at least two time points are needed")
    return float(trapezoid(result.scores, result.times) / (result.times[-1] - result.times[0]))
