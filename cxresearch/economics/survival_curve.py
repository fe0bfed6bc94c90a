"""The survival curve lifetime values rest on: Kaplan-Meier (with left truncation) up to the last time enough
customers are at risk, a tail beyond it (`tail_models`), and both recomputed for bootstrap resamples given as
case counts. Durations in months.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from cxresearch.economics.tail_models import TailCounts, constant_hazard, fit_tail, log_survival

#: Months of follow-up before the Kaplan-Meier cut-off used to fit the constant tail hazard.
TAIL_WINDOW_MONTHS = 12.0


@dataclass(frozen=True)
class Tail:
    """A tail family (`tail_models.FAMILIES`) and, for a parametric one, the theta its refits start from (None: an
    exponential start)."""

    family: str = "constant"
    start: np.ndarray | None = None


class TailedSurvival(NamedTuple):
    """Survival at the requested months (KM, then the tail), the cut-off T_c (months), the constant hazard of the
    window before T_c (per month) and the parametric tail's theta (None when the tail is the constant hazard)."""

    survival: np.ndarray
    t_c: float
    hazard: float
    theta: np.ndarray | None


def survival_with_tail(
    t: np.ndarray, e: np.ndarray, months: np.ndarray, min_at_risk: int,
    km_at: Callable[[np.ndarray], np.ndarray] | None = None, entry: np.ndarray | None = None, tail: Tail = Tail(),
) -> TailedSurvival:
    """Survival at `months`: KM up to the cut-off T_c, the `tail` after it.

    T_c is the largest duration at which at least `min_at_risk` customers (all, if fewer) are at risk, at risk
    meaning entry < T_c <= duration; the constant tail hazard's exposure counts customer-months after entry only.
    `km_at` replaces the numpy Kaplan-Meier (e.g. lifelines' curve).
    """
    return SurvivalCases(t, e, entry).survival_with_tail(np.ones(len(t)), months, min_at_risk, km_at, tail)


def product_limit_at(t: np.ndarray, e: np.ndarray, at: np.ndarray, entry: np.ndarray | None = None) -> np.ndarray:
    """Kaplan-Meier S at times `at` in numpy (refitting lifelines for every bootstrap resample is the bottleneck).

    Same estimator as lifelines' KaplanMeierFitter (a test asserts equality, with and without entry):
    S(x) = prod_{t_j <= x} (1 - d_j/n_j), n_j = #{entry < t_j <= duration} (entry 0 if not given).
    """
    return SurvivalCases(t, e, entry).survival_at(np.ones(len(t)), at)


def resample_counts(rng: np.random.Generator, n: int) -> np.ndarray:
    """How often each of `n` cases occurs in one bootstrap resample (the draws of `rng.integers(0, n, n)`)."""
    return np.bincount(rng.integers(0, n, n), minlength=n).astype(float)


class SurvivalCases:
    """Durations, events and entries sorted once, so that the survival curve of a bootstrap resample, given as
    case counts (weights), costs a few bincounts: no resorting and no copies of the resample (at a million
    customers this is what keeps the bootstrap CIs of CLV to seconds).

    With all weights 1 it is the plain Kaplan-Meier estimate; with the counts of a resample it equals the
    estimate on the resampled rows, since both only depend on how often each case occurs.
    """

    def __init__(self, t: np.ndarray, e: np.ndarray, entry: np.ndarray | None = None) -> None:
        self.t = np.asarray(t, dtype=float)
        self.e = np.asarray(e, dtype=bool)
        self.entry = np.zeros_like(self.t) if entry is None else np.asarray(entry, dtype=float)
        self.times, self.time_of = np.unique(self.t, return_inverse=True)
        self.entries, self.entry_of = np.unique(self.entry, return_inverse=True)

    def _counts(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted cases leaving, dying at each distinct duration, and entering at each distinct entry time."""
        leaving = np.bincount(self.time_of, weights=w, minlength=len(self.times))
        deaths = np.bincount(self.time_of, weights=w * self.e, minlength=len(self.times))
        entering = np.bincount(self.entry_of, weights=w, minlength=len(self.entries))
        return leaving, deaths, entering

    def tail_counts(self, w: np.ndarray) -> TailCounts:
        """The weighted counts a parametric tail is fitted on."""
        leaving, deaths, entering = self._counts(w)
        return TailCounts(self.times, leaving, deaths, self.entries, entering)

    def _at_risk(self, leaving: np.ndarray, entering: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Weighted #{entry < x <= duration} at each x in `at`; cases entering at the earliest entry time are at
        risk from it on (the risk set of lifelines)."""
        first = self.entries[np.flatnonzero(entering > 0)[0]]
        entered = np.r_[0.0, np.cumsum(entering)]
        left = np.r_[0.0, np.cumsum(leaving)]
        inside = np.where(at <= first, entered[np.searchsorted(self.entries, at, side="right")],
                          entered[np.searchsorted(self.entries, at, side="left")])
        return inside - left[np.searchsorted(self.times, at, side="left")]

    def _product_limit(self, leaving: np.ndarray, deaths: np.ndarray, entering: np.ndarray,
                       at: np.ndarray) -> np.ndarray:
        """Kaplan-Meier S at times `at` from weighted counts."""
        at_risk = self._at_risk(leaving, entering, self.times)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.cumprod(np.where(deaths > 0, 1.0 - deaths / at_risk, 1.0))
        i = np.searchsorted(self.times, at, side="right") - 1
        return np.where(i >= 0, s[np.clip(i, 0, None)], 1.0)

    def survival_at(self, w: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Kaplan-Meier S at times `at` with case weights `w` (counts of a resample, or ones)."""
        return self._product_limit(*self._counts(w), np.asarray(at, dtype=float))

    def cut_off(self, w: np.ndarray, min_at_risk: int) -> float:
        """T_c (months): the largest duration with at least `min_at_risk` (all, if fewer) weighted cases at risk."""
        leaving, _, entering = self._counts(w)
        return self._cut_off(leaving, entering, min(min_at_risk, w.sum()))

    def _cut_off(self, leaving: np.ndarray, entering: np.ndarray, need: float) -> float:
        """T_c from weighted counts, `need` cases at risk."""
        present = self.times[leaving > 0]
        at_risk = self._at_risk(leaving, entering, present)
        ok = at_risk >= need
        # without entry this is the need-th largest duration; with entry the at-risk count is not monotone in time
        return float(present[ok][-1] if ok.any() else present[np.argmax(at_risk)])

    def survival_with_tail(
        self, w: np.ndarray, months: np.ndarray, min_at_risk: int,
        km_at: Callable[[np.ndarray], np.ndarray] | None = None, tail: Tail = Tail(),
    ) -> TailedSurvival:
        """`survival_with_tail` with case weights `w`; a parametric tail is refitted on them (warm-started at
        `tail.start`) and falls back to the constant hazard when it cannot be fitted."""
        leaving, deaths, entering = self._counts(w)
        t_c = self._cut_off(leaving, entering, min(min_at_risk, w.sum()))
        at = np.append(months, t_c)
        s = km_at(at) if km_at is not None else self._product_limit(leaving, deaths, entering, at)
        s_months, s_c = s[:-1], s[-1]
        lam = constant_hazard(self.t, self.e, self.entry, w, t_c - TAIL_WINDOW_MONTHS, t_c)
        theta = None
        if tail.family != "constant":
            theta = fit_tail(tail.family, TailCounts(self.times, leaving, deaths, self.entries, entering), tail.start)
        if theta is None:
            beyond = s_c * np.exp(-lam * (months - t_c))
        else:
            beyond = s_c * np.exp(log_survival(tail.family, theta, months) - log_survival(tail.family, theta, t_c))
        return TailedSurvival(np.where(months > t_c, beyond, s_months), t_c, lam, theta)
