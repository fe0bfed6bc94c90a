"""Loyalty metrics (NPS, CSAT, CES) with 95% confidence intervals, and the NPS difference between two groups.

Breakdowns by score level, group, channel and month are `cxresearch.loyalty.breakdowns`; which answers a report
summarises is `cxresearch.loyalty.responses`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cxresearch.data.schema import SCORE_RANGES
from cxresearch.stats.design import EFFORT_BANDS, NPS_GROUPS
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95, bounded_mean_interval, wilson_pct

ArrayLike = Sequence[float] | np.ndarray | pd.Series
#: Lowest score of a promoter (9) and of a passive (7), highest of a detractor (6), on the 0-10 question
#: (`stats.design.NPS_GROUPS`).
PROMOTER_MIN, PASSIVE_MIN, DETRACTOR_MAX = NPS_GROUPS["promoter"][0], NPS_GROUPS["passive"][0], NPS_GROUPS["detractor"][1]
#: Lowest CES answer that counts as high effort (5 on the 1-7 scale, `stats.design.EFFORT_BANDS`).
HIGH_EFFORT_MIN = EFFORT_BANDS["high effort (5-7)"][0]
#: Lowest CSAT answer that counts as satisfied (top-2-box, 4-5 on the 1-5 scale).
SATISFIED_MIN = 4
#: The metric name of each bounded score's headline share in summaries and results keys.
SHARE_KEYS = {"csat": "top2_pct", "ces": "high_effort_pct"}
#: The columns of a metric result's `summary()`.
SUMMARY_COLUMNS = ("value", "ci_low", "ci_high", "unit", "n")


def summary_table(index: str, rows: Sequence[Sequence[object]], columns: Sequence[str] = SUMMARY_COLUMNS
                  ) -> pd.DataFrame:
    """A result's summary: one row per sequence (its index label first, then `columns`), indexed by `index`.

    Parameters
    ----------
    index
        Name of the index column.
    rows
        One sequence per row: its index label, then a value per column.
    columns
        The columns after the index.

    Returns
    -------
    DataFrame
        The rows, indexed by `index`.
    """
    return pd.DataFrame([list(r) for r in rows], columns=[index, *columns]).set_index(index)


def nps_groups(values: pd.Series) -> pd.Series:
    """The NPS group (`stats.design.NPS_GROUPS`, worst to best) of each value as an ordered categorical.

    Group edges are the groups' lowest scores, half-open, so a mean score falls where its value puts it
    (8.5 -> passive) as integer answers do; missing stays missing.

    Parameters
    ----------
    values
        NPS answers (0-10) or mean answers; missing allowed.

    Returns
    -------
    Series
        Ordered categorical of "detractor", "passive", "promoter" (NaN where missing).
    """
    lows = [low for low, _ in NPS_GROUPS.values()][1:]
    return pd.cut(values, bins=[-np.inf, *lows, np.inf], labels=list(NPS_GROUPS), right=False)


def _scores(scores: ArrayLike, instrument: str) -> tuple[np.ndarray, int]:
    """Validated integer scores of one instrument with missing values removed, and the number removed."""
    low, high = SCORE_RANGES[instrument]
    values = pd.Series(scores, dtype="object")
    values = values[values.notna()]
    n_missing = len(scores) - len(values)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(numbers) | (np.mod(numbers, 1) != 0) | (numbers < low) | (numbers > high)
    if bad.any():
        first = values.iloc[int(np.argmax(bad))]
        raise ValueError(
            f"{instrument.upper()} score {first!r} is not an integer from {low} to {high} "
            f"({int(bad.sum())} invalid value(s))"
        )
    if numbers.size == 0:
        raise ValueError(f"no {instrument.upper()} scores to summarise (all {n_missing} missing)")
    return numbers, n_missing


def _ci(low: float, high: float) -> tuple[float | None, float | None]:
    """An interval as Estimate fields: None where it is undefined."""
    return (None, None) if np.isnan(low) or np.isnan(high) else (low, high)


@dataclass(frozen=True)
class NPSResult:
    """Net Promoter Score (-100..100 points) with 95% CI, and promoter/passive/detractor shares (0-1)."""

    score: float
    ci_low: float
    ci_high: float
    promoters: float
    passives: float
    detractors: float
    n: int
    n_missing: int = 0

    @property
    def variance(self) -> float:
        """Sampling variance of the NPS on the -100..100 scale, of the adjusted-Wald estimate (`nps_interval`)."""
        return nps_interval(round(self.promoters * self.n), round(self.detractors * self.n), self.n)[2]

    @property
    def adjusted_score(self) -> float:
        """The adjusted-Wald centre (points): the NPS with 3/4 promoter and 3/4 detractor added, of n + 3."""
        n_adj = self.n + NPS_PSEUDO_N
        return 100.0 * ((self.promoters * self.n + NPS_PSEUDO_PROMOTERS) - (self.detractors * self.n
                                                                            + NPS_PSEUDO_DETRACTORS)) / n_adj

    @property
    def headline(self) -> Estimate:
        """The Net Promoter Score (points) as an `Estimate`."""
        return Estimate(self.score, "points", "Net Promoter Score", *_ci(self.ci_low, self.ci_high), self.n)

    def summary(self) -> pd.DataFrame:
        """NPS and group shares (percent, Wilson CIs for shares) with n."""
        rows = [("nps", self.score, self.ci_low, self.ci_high, "points", self.n)]
        for group in ("promoters", "passives", "detractors"):
            share = getattr(self, group)
            rows.append((f"{group}_pct", 100.0 * share, *wilson_pct(round(share * self.n), self.n), "%", self.n))
        return summary_table("metric", rows)

    def to_estimates(self, prefix: str = "nps") -> dict[str, Estimate]:
        """The summary rows as `Estimate`s keyed `<prefix>_score`, `<prefix>_promoters_pct`, ..."""
        labels = {"nps": "Net Promoter Score", "promoters_pct": "Promoters (9-10)", "passives_pct": "Passives (7-8)",
                  "detractors_pct": "Detractors (0-6)"}
        keys = {"nps": f"{prefix}_score"}
        return _estimates(self.summary(), labels, prefix, self.n, keys)

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebook display)."""
        return self.summary().to_html()


def _estimates(summary: pd.DataFrame, labels: dict[str, str], prefix: str, n: int,
               keys: dict[str, str] | None = None) -> dict[str, Estimate]:
    """A metric summary's rows as `Estimate`s keyed `<prefix>_<metric>` (or `keys[metric]`)."""
    keys = keys or {}
    return {
        keys.get(m, f"{prefix}_{m}"): Estimate(float(r.value), r.unit, labels[m], *_ci(r.ci_low, r.ci_high), n)
        for m, r in summary.iterrows()
    }


def _estimate_rows(estimates: dict[str, Estimate]) -> pd.DataFrame:
    """`Estimate`s as summary rows (value, ci_low, ci_high, unit, n), NaN where an interval is undefined."""
    return summary_table("metric", [
        (key, e.value, *(np.nan if x is None else x for x in (e.ci_low, e.ci_high)), e.unit, e.n)
        for key, e in estimates.items()
    ])


@dataclass(frozen=True)
class ScoreResult:
    """A bounded survey score, CSAT (1-5) or CES (1 = very low .. 7 = very high effort): the share (%) in its
    headline band (CSAT satisfied 4-5, CES high effort 5-7) with a Wilson CI, and the mean score with an adjusted
    CI (`stats.intervals.bounded_mean_interval`)."""

    instrument: str
    headline: Estimate  # the share (%) in the headline band: the figure the instrument is reported by
    mean: Estimate
    n: int
    n_missing: int = 0

    def figures(self) -> dict[str, Estimate]:
        """The share and the mean keyed by metric name, in the instrument's reporting order."""
        key = SHARE_KEYS[self.instrument]
        if self.instrument == "csat":
            return {key: self.headline, "mean": self.mean}
        return {"mean": self.mean, key: self.headline}

    def summary(self) -> pd.DataFrame:
        """One row per figure: value, 95% CI, unit and n."""
        return _estimate_rows(self.figures())

    def to_estimates(self, prefix: str | None = None) -> dict[str, Estimate]:
        """The figures keyed `<prefix>_<metric>` (default prefix: the instrument)."""
        return {f"{prefix or self.instrument}_{key}": e for key, e in self.figures().items()}

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebook display)."""
        return self.summary().to_html()


@dataclass(frozen=True)
class NPSComparison:
    """Difference in NPS between two independent groups (a - b, points) with 95% CI and two-sided p-value."""

    a: NPSResult
    b: NPSResult
    difference: float
    ci_low: float
    ci_high: float
    p_value: float

    def summary(self) -> pd.DataFrame:
        """NPS of each group and their difference, with 95% CIs."""
        return summary_table("group", [
            ("a", self.a.score, self.a.ci_low, self.a.ci_high, self.a.n, np.nan),
            ("b", self.b.score, self.b.ci_low, self.b.ci_high, self.b.n, np.nan),
            ("a - b", self.difference, self.ci_low, self.ci_high, self.a.n + self.b.n, self.p_value),
        ], ("nps", "ci_low", "ci_high", "n", "p_value"))

    def to_estimates(self, prefix: str = "nps_difference") -> dict[str, Estimate]:
        """The difference as one `Estimate` (the p-value goes in its note)."""
        return {prefix: Estimate(self.difference, "points", "Difference in NPS (a - b)", *_ci(self.ci_low, self.ci_high),
                                 self.a.n + self.b.n, note=f"two-sided p = {self.p_value:.3g}")}

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebook display)."""
        return self.summary().to_html()


#: Pseudo-answers the adjusted-Wald NPS interval adds: 3/4 promoter, 3/4 detractor, 3/2 passive (Rocks 2016).
NPS_PSEUDO_PROMOTERS = NPS_PSEUDO_DETRACTORS = 0.75
NPS_PSEUDO_N = 3.0


def nps_interval(promoters: int, detractors: int, n: int) -> tuple[float, float, float]:
    """Adjusted-Wald 95% interval of promoters minus detractors, and its variance, in NPS points (-100..100).

    The multinomial Wald interval ``d +/- z sqrt((p + q - d**2) / n)`` has width 0 at the edges (all promoters:
    [100, 100]). Adding 3/4 promoter, 3/4 detractor and 3/2 passive pseudo-answers (n + 3) before it, the NPS
    analogue of Agresti & Caffo (2000), keeps the width positive and holds close to 95% coverage down to small
    samples; it is the best of the intervals Rocks (2016) compared on real NPS data. Returns (low, high,
    variance of the adjusted difference in points**2); the interval is clipped to [-100, 100] and always contains
    the observed NPS.

    Parameters
    ----------
    promoters
        Answers of 9-10.
    detractors
        Answers of 0-6.
    n
        All answers.

    Returns
    -------
    tuple of float
        Lower and upper end of the 95% interval (points, within [-100, 100]) and the variance of the
        adjusted difference (points**2).

    References
    ----------
    Rocks (2016), "Interval estimation for the 'Net Promoter Score'", The American Statistician 70(4):365-372;
    Agresti & Caffo (2000), The American Statistician 54(4):280-288.
    """
    n_adj = n + NPS_PSEUDO_N
    pro, det = (promoters + NPS_PSEUDO_PROMOTERS) / n_adj, (detractors + NPS_PSEUDO_DETRACTORS) / n_adj
    variance = 1e4 * (pro + det - (pro - det) ** 2) / n_adj
    center, half = 100.0 * (pro - det), Z95 * float(np.sqrt(variance))
    score = 100.0 * (promoters - detractors) / n
    return float(min(score, max(-100.0, center - half))), float(max(score, min(100.0, center + half))), variance


def nps(scores: ArrayLike) -> NPSResult:
    """Net Promoter Score (% promoters 9-10 minus % detractors 0-6, in points) with an adjusted-Wald 95% CI.

    Missing values (NaN/None) are dropped and counted in `n_missing`; any other value outside the integers
    0-10 raises ValueError. The interval is `nps_interval` (Rocks 2016): it stays open at 100 and -100, where
    the plain multinomial Wald interval collapses to a point.

    Parameters
    ----------
    scores
        Answers to the 0-10 recommend question; NaN/None are dropped and counted.

    Returns
    -------
    NPSResult
        NPS (points) with its 95% CI and the group shares.
    """
    values, n_missing = _scores(scores, "nps")
    n = values.size
    promoters, detractors = int((values >= PROMOTER_MIN).sum()), int((values <= DETRACTOR_MAX).sum())
    low, high, _ = nps_interval(promoters, detractors, n)
    return NPSResult(100.0 * (promoters - detractors) / n, low, high, promoters / n, 1.0 - (promoters + detractors) / n,
                     detractors / n, n, n_missing)


def csat(scores: ArrayLike) -> ScoreResult:
    """CSAT summary: % top-2-box (4-5) with Wilson 95% CI and mean score (1-5) with an adjusted 95% CI (`stats.intervals.bounded_mean_interval`).

    Parameters
    ----------
    scores
        CSAT answers (integers 1-5); NaN/None are dropped and counted.

    Returns
    -------
    ScoreResult
        Top-2-box share (%) and mean (points) with 95% CIs.
    """
    return _bounded_score(scores, "csat", SATISFIED_MIN, "CSAT satisfied (4-5)", "CSAT mean score")


def ces(scores: ArrayLike) -> ScoreResult:
    """CES summary: mean effort (1-7) with an adjusted 95% CI (`stats.intervals.bounded_mean_interval`) and % high effort (5-7) with Wilson 95% CI.

    Parameters
    ----------
    scores
        CES answers (integers 1-7, 7 = highest effort); NaN/None are dropped and counted.

    Returns
    -------
    ScoreResult
        Mean effort (points) and high-effort share (%) with 95% CIs.
    """
    return _bounded_score(scores, "ces", HIGH_EFFORT_MIN, "High effort (CES 5-7)", "CES mean effort score")


def _bounded_score(scores: ArrayLike, instrument: str, band_min: int, share_label: str, mean_label: str
                   ) -> ScoreResult:
    """A bounded score's share (%) of answers at or above `band_min` (Wilson CI) and its mean (points, adjusted CI)."""
    values, n_missing = _scores(scores, instrument)
    n, k = values.size, int((values >= band_min).sum())
    low, high = wilson_pct(k, n)
    mean, mean_low, mean_high = bounded_mean_interval(values, *SCORE_RANGES[instrument])
    first, last = SCORE_RANGES[instrument]
    return ScoreResult(instrument, Estimate(100.0 * k / n, "%", share_label, *_ci(low, high), n),
                       Estimate(mean, f"points ({first:g}-{last:g})", mean_label, *_ci(mean_low, mean_high), n), n,
                       n_missing)


def nps_group(scores: ArrayLike) -> pd.Series:
    """Label each NPS response promoter (9-10), passive (7-8) or detractor (0-6); missing stays missing.

    Parameters
    ----------
    scores
        NPS answers (integers 0-10); missing allowed.

    Returns
    -------
    Series
        The group of each answer, named `nps_group`, on the input index.
    """
    series = pd.Series(scores)
    if series.notna().any():
        _scores(series, "nps")  # raises ValueError naming any value that is not an integer 0-10
    return pd.Series(nps_groups(pd.to_numeric(series)), index=series.index, name="nps_group")


def compare_nps(a: ArrayLike, b: ArrayLike) -> NPSComparison:
    """NPS difference between two independent samples (a - b, points): adjusted-Wald 95% CI and two-sided z-test.

    Each group's NPS is adjusted as in `nps_interval` (3/4 promoter and 3/4 detractor added, n + 3) and the
    standard error adds the two adjusted variances, as Agresti & Caffo (2000) do for two proportions: groups of
    all promoters still get an interval of positive width. The interval is clipped to [-200, 200] and contains
    the observed difference.

    Parameters
    ----------
    a, b
        Answers to the 0-10 recommend question of two independent groups.

    Returns
    -------
    NPSComparison
        Both NPS, their difference a - b (points) with 95% CI and the two-sided p-value.
    """
    result_a, result_b = nps(a), nps(b)
    diff = result_a.score - result_b.score
    center = result_a.adjusted_score - result_b.adjusted_score
    se = float(np.sqrt(result_a.variance + result_b.variance))
    p_value = float(2.0 * stats.norm.sf(abs(center) / se))
    low, high = max(-200.0, center - Z95 * se), min(200.0, center + Z95 * se)
    return NPSComparison(result_a, result_b, diff, min(diff, low), max(diff, high), p_value)
