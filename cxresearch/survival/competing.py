"""Why customers leave: Aalen-Johansen cumulative incidence of churn by reason (competing risks), in months.

The cumulative incidence of a reason at t is the share of customers who have left for that reason by t; the
reasons' incidences plus the Kaplan-Meier survival sum to 1. 1 - Kaplan-Meier per reason (treating the other
reasons as censored) overstates each reason, because customers who left for another reason can no longer leave
for this one. With `entry`, risk sets run from entry (left truncation) exactly as `kaplan_meier.kaplan_meier`'s.

References: Aalen & Johansen (1978), Scand J Stat 5:141-150; Kalbfleisch & Prentice (2002), The Statistical
Analysis of Failure Time Data, 2nd ed., sect. 8.2; variance by the delta method, Dinse & Larson (1986),
Biometrika 73:379-386, eq. 6 (Marubini & Valsecchi 1995, sect. 10.4); log(-log) intervals as
scikit-survival's `cumulative_incidence_competing_risks(conf_type="log-log")`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95
from cxresearch.survival.causes import lifetimes_by_cause
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns
from cxresearch.survival.groups import ALL

#: Bootstrap resamples behind `CIFResult.share`'s interval.
N_BOOTSTRAP = 400


@dataclass
class CIFResult:
    """Cumulative incidence per reason and group: `curves` has group, cause, time (months), cif, se, ci_low,
    ci_high, one row per distinct event time; `data` keeps the customers for the bootstrap of `share`."""

    group: str | None
    causes: list[str]
    curves: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    data: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def groups(self) -> list[str]:
        """Group labels kept in the analysis."""
        return list(self.data)

    def summary(self, times: Sequence[float] = (12, 24, 48)) -> pd.DataFrame:
        """One row per group, cause and horizon: cumulative incidence (fraction) with 95% CI; NaN beyond the
        group's last follow-up."""
        rows = []
        for (name, cause), curve in self.curves.groupby(["group", "cause"], sort=False):
            last = float(self.data[name]["duration"].max())
            for t in times:
                i = int(np.searchsorted(curve["time"].to_numpy(), t, side="right")) - 1
                if t > last:
                    values = (np.nan,) * 3
                elif i < 0:
                    values = (0.0, 0.0, 0.0)
                else:
                    values = tuple(float(curve[c].iloc[i]) for c in ("cif", "ci_low", "ci_high"))
                rows.append(dict(zip(("group", "cause", "months", "cif", "ci_low", "ci_high"),
                                     (name, cause, t, *values), strict=True)))
        return pd.DataFrame(rows)

    def share(self, cause: str | Sequence[str], horizon: float, group: str = ALL, seed: int = 0) -> Estimate:
        """Share (%) of the churn by `horizon` months that is for `cause` (one reason or several), with a 95%
        percentile bootstrap interval (customers resampled within the group, `N_BOOTSTRAP` times)."""
        wanted = [cause] if isinstance(cause, str) else list(cause)
        unknown = set(wanted) - set(self.causes)
        if unknown:
            raise ValueError(f"no churn for {sorted(unknown)} in the data; causes: {', '.join(self.causes)}")
        sub = self.data[group]
        point = _share(sub, self.causes, wanted, horizon)
        rng = np.random.default_rng(seed)
        resample = _WeightedCounts(sub, self.causes, horizon)
        draws = [resample.share(np.bincount(rng.integers(0, len(sub), len(sub)), minlength=len(sub)), wanted)
                 for _ in range(N_BOOTSTRAP)]
        low, high = np.nanpercentile(draws, [2.5, 97.5])
        return Estimate(value=100 * point, unit="%", ci_low=100 * low, ci_high=100 * high, n=len(sub),
                        label=f"Share of churn by {horizon:g} months that is {' or '.join(wanted)} ({group})",
                        note=f"Aalen-Johansen cumulative incidences; {N_BOOTSTRAP} bootstrap resamples")


def cumulative_incidence(
    df: pd.DataFrame,
    columns: LifetimeColumns = LIFETIMES,
    group: str | None = None,
    min_group_size: int = 30,
) -> CIFResult:
    """Aalen-Johansen cumulative incidence (fraction left for each reason vs months) per level of `group`.

    `cause` holds the reason of an observed end (missing = right-censored). With an `event` column (as
    `features.snapshot.lifetimes` gives), an event without a reason is its own cause "unknown", so the
    incidences still add up to all churn, and a reason without an event is censored. `columns.entry`: left-truncation
    times in months (see `kaplan_meier.kaplan_meier`); rows with missing or negative duration, or no follow-up
    after entry, are dropped with a note, as are groups smaller than `min_group_size`.
    """
    frame, notes = lifetimes_by_cause(df, columns)
    causes = sorted(frame["cause"].dropna().unique())
    if group is None:
        parts = {ALL: frame}
    else:
        labels = df.loc[frame.index, group]
        sizes = labels.dropna().astype(str).value_counts()
        small = sizes[sizes < min_group_size]
        if len(small):
            notes.append(f"dropped {group} levels with fewer than {min_group_size} customers: "
                         + ", ".join(f"{k} (n={v})" for k, v in small.items()))
        parts = {k: frame[labels.astype(str) == k] for k in sorted(sizes[sizes >= min_group_size].index)}
    curves = [_aalen_johansen(sub, causes).assign(group=name) for name, sub in parts.items()]
    table = pd.concat(curves, ignore_index=True)[["group", "cause", "time", "cif", "se", "ci_low", "ci_high"]]
    return CIFResult(group=group, causes=causes, curves=table, notes=notes, data=parts)


def _counts(sub: pd.DataFrame, causes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct event times, customers at risk at each, events per cause: times x causes)."""
    ended = sub[sub["cause"].notna()]
    times = np.sort(ended["duration"].unique())
    d = np.stack([np.bincount(np.searchsorted(times, ended.loc[ended["cause"] == c, "duration"]),
                              minlength=len(times)) for c in causes], axis=1).astype(float)
    duration, entry = np.sort(sub["duration"].to_numpy()), np.sort(sub["entry"].to_numpy())
    first = entry[0]
    # At risk at t: entry < t <= duration, those entering at the first entry time from it on (lifelines' KM).
    entered = np.where(times <= first, np.searchsorted(entry, times, side="right"),
                       np.searchsorted(entry, times, side="left"))
    n = (entered - np.searchsorted(duration, times, side="left")).astype(float)
    return times, n, d


def _cif_at(sub: pd.DataFrame, causes: list[str], horizon: float) -> np.ndarray:
    """Cumulative incidence of each cause at `horizon` months (fractions)."""
    return _cif_of_counts(*_counts(sub, causes), horizon)


def _cif_of_counts(times: np.ndarray, n: np.ndarray, d: np.ndarray, horizon: float) -> np.ndarray:
    """Cumulative incidence of each cause at `horizon` months from `_counts` output (fractions)."""
    keep = times <= horizon
    hazard = d[keep] / n[keep, None]
    before = np.r_[1.0, np.cumprod(1 - hazard.sum(axis=1))[:-1]]
    return (hazard * before[:, None]).sum(axis=0)


def _share(sub: pd.DataFrame, causes: list[str], wanted: list[str], horizon: float) -> float:
    """Share of all churn by `horizon` that is for the `wanted` causes (NaN when nobody has left)."""
    return _share_of(_cif_at(sub, causes, horizon), causes, wanted)


def _share_of(cif: np.ndarray, causes: list[str], wanted: list[str]) -> float:
    """Share of the incidences `cif` (one per cause) that is for the `wanted` causes (NaN when all are 0)."""
    total = cif.sum()
    return float(cif[[c in wanted for c in causes]].sum() / total) if total > 0 else np.nan


class _WeightedCounts:
    """`_counts` of a bootstrap resample given as how often each customer was drawn, without copying the rows.

    Sorting and matching are done once; each resample is then a few weighted counts, with integer weights summed
    exactly, so `share(weights)` equals `_share` of the resampled rows to the last bit (at a million customers the
    400 copies of the rows took minutes).
    """

    def __init__(self, sub: pd.DataFrame, causes: list[str], horizon: float) -> None:
        duration, entry = sub["duration"].to_numpy(float), sub["entry"].to_numpy(float)
        self.causes, self.ended = causes, np.flatnonzero(sub["cause"].notna().to_numpy())
        ended_at = duration[self.ended]
        self.times = np.unique(ended_at[ended_at <= horizon])  # later events never enter the incidence
        self.code = pd.Categorical(sub["cause"].to_numpy()[self.ended], categories=causes).codes
        self.slot = np.searchsorted(self.times, ended_at)  # == len(times) beyond the horizon: dropped
        self.by_duration, self.by_entry = np.argsort(duration, kind="stable"), np.argsort(entry, kind="stable")
        self.entry_sorted = entry[self.by_entry]
        self.before_time = np.searchsorted(duration[self.by_duration], self.times, side="left")
        self.entered_by = {side: np.searchsorted(self.entry_sorted, self.times, side=side) for side in ("left", "right")}

    def share(self, weights: np.ndarray, wanted: list[str]) -> float:
        """`_share` of the resample that holds customer i `weights[i]` times."""
        w = weights[self.ended]
        kept = self.slot < len(self.times)
        d = np.zeros((len(self.times) + 1, len(self.causes)))
        for k in range(len(self.causes)):
            mine = self.code == k
            d[:, k] = np.bincount(self.slot[mine], weights=w[mine], minlength=len(self.times) + 1)
        present = np.bincount(self.slot[kept], weights=w[kept], minlength=len(self.times)) > 0
        by_entry = np.r_[0, np.cumsum(weights[self.by_entry])]
        first = self.entry_sorted[np.argmax(weights[self.by_entry] > 0)]
        entered = np.where(self.times <= first, by_entry[self.entered_by["right"]], by_entry[self.entered_by["left"]])
        n = (entered - np.r_[0, np.cumsum(weights[self.by_duration])][self.before_time]).astype(float)
        return _share_of(_cif_of_counts(self.times[present], n[present], d[:-1][present], np.inf), self.causes,
                         wanted)


def _aalen_johansen(sub: pd.DataFrame, causes: list[str]) -> pd.DataFrame:
    """Cumulative incidence per cause at each event time, delta-method SE and log(-log) 95% interval."""
    times, n, d = _counts(sub, causes)
    total = d.sum(axis=1)
    survival = np.cumprod(1 - total / n)
    before = np.r_[1.0, survival[:-1]]  # S(t-)
    # Greenwood term d / (n (n - d)); zero where everyone left at once (the variance there is not defined).
    a = np.divide(total, n * (n - total), out=np.zeros_like(n), where=n > total)
    rows = []
    for k, name in enumerate(causes):
        dk = d[:, k]
        cif = np.cumsum(before * dk / n)
        # Sum_j (F(t) - F(t_j))^2 a_j expanded into running sums, so the variance is O(times).
        part_a = cif**2 * np.cumsum(a) - 2 * cif * np.cumsum(cif * a) + np.cumsum(cif**2 * a)
        part_b = np.cumsum(before**2 * dk * (n - dk) / n**3)
        c = before * dk / n**2
        part_c = -2 * (cif * np.cumsum(c) - np.cumsum(cif * c))
        se = np.sqrt(np.clip(part_a + part_b + part_c, 0, None))
        low, high = _loglog_interval(cif, se)
        rows.append(pd.DataFrame({"cause": name, "time": times, "cif": cif, "se": se, "ci_low": low,
                                  "ci_high": high}))
    return pd.concat(rows, ignore_index=True)


def _loglog_interval(cif: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% interval on the log(-log) scale, which stays inside (0, 1); 0 where the incidence is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        half = Z95 * se / (cif * np.log(cif))
        low, high = cif ** np.exp(-half), cif ** np.exp(half)
    positive = (cif > 0) & (cif < 1)
    return np.where(positive, low, cif), np.where(positive, high, cif)
