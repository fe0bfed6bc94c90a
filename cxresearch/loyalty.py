"""Loyalty metrics (NPS, CSAT, CES) with 95% confidence intervals, and churn rate by score level."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cxresearch.results import Estimate
from cxresearch.schema import SCORE_RANGES

Z95: float = float(stats.norm.ppf(0.975))

#: NPS groups in display order (worst to best).
NPS_GROUPS: tuple[str, ...] = ("detractor", "passive", "promoter")

ArrayLike = Sequence[float] | np.ndarray | pd.Series


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


def wilson_pct(count: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion, in percent (NaN when n is 0)."""
    if n == 0:
        return float("nan"), float("nan")
    low, high = proportion_confint(count, n, alpha=0.05, method="wilson")
    return 100.0 * float(low), 100.0 * float(high)


def _mean_ci(values: np.ndarray, low: float, high: float) -> tuple[float, float, float]:
    """Mean with a t-based 95% interval clipped to the scale [low, high]; the interval is NaN for n < 2."""
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, values.size - 1)) * float(values.std(ddof=1)) / np.sqrt(values.size)
    return mean, float(max(low, mean - half)), float(min(high, mean + half))


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
        """Sampling variance of the NPS on the -100..100 scale (multinomial)."""
        diff = self.promoters - self.detractors
        return 1e4 * (self.promoters + self.detractors - diff**2) / self.n

    def summary(self) -> pd.DataFrame:
        """NPS and group shares (percent, Wilson CIs for shares) with n."""
        rows = [
            {
                "metric": "nps",
                "value": self.score,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "unit": "points",
                "n": self.n,
            }
        ]
        for group, share in (
            ("promoters", self.promoters),
            ("passives", self.passives),
            ("detractors", self.detractors),
        ):
            low, high = wilson_pct(round(share * self.n), self.n)
            rows.append(
                {
                    "metric": f"{group}_pct",
                    "value": 100.0 * share,
                    "ci_low": low,
                    "ci_high": high,
                    "unit": "%",
                    "n": self.n,
                }
            )
        return pd.DataFrame(rows).set_index("metric")

    def to_estimates(self, prefix: str = "nps") -> dict[str, Estimate]:
        """The summary rows as `Estimate`s keyed `<prefix>_score`, `<prefix>_promoters_pct`, ..."""
        labels = {
            "nps": "Net Promoter Score",
            "promoters_pct": "Promoters (9-10)",
            "passives_pct": "Passives (7-8)",
            "detractors_pct": "Detractors (0-6)",
        }
        out = {}
        for metric, row in self.summary().iterrows():
            low, high = _ci(row.ci_low, row.ci_high)
            key = f"{prefix}_score" if metric == "nps" else f"{prefix}_{metric}"
            out[key] = Estimate(float(row.value), row.unit, labels[metric], low, high, self.n)
        return out


@dataclass(frozen=True)
class CSATResult:
    """CSAT (1-5): top-2-box share (%, scores 4-5) with Wilson CI and mean score with t CI."""

    top2_pct: float
    top2_ci_low: float
    top2_ci_high: float
    mean: float
    mean_ci_low: float
    mean_ci_high: float
    n: int
    n_missing: int = 0

    def summary(self) -> pd.DataFrame:
        """Top-2-box (%) and mean (points) with 95% CIs and n."""
        return pd.DataFrame(
            [
                {
                    "metric": "top2_pct",
                    "value": self.top2_pct,
                    "ci_low": self.top2_ci_low,
                    "ci_high": self.top2_ci_high,
                    "unit": "%",
                    "n": self.n,
                },
                {
                    "metric": "mean",
                    "value": self.mean,
                    "ci_low": self.mean_ci_low,
                    "ci_high": self.mean_ci_high,
                    "unit": "points (1-5)",
                    "n": self.n,
                },
            ]
        ).set_index("metric")

    def to_estimates(self, prefix: str = "csat") -> dict[str, Estimate]:
        """`<prefix>_top2_pct` and `<prefix>_mean` as `Estimate`s."""
        labels = {"top2_pct": "CSAT satisfied (4-5)", "mean": "CSAT mean score"}
        return {
            f"{prefix}_{m}": Estimate(float(r.value), r.unit, labels[m], *_ci(r.ci_low, r.ci_high), self.n)
            for m, r in self.summary().iterrows()
        }


@dataclass(frozen=True)
class CESResult:
    """CES (1 = very low .. 7 = very high effort): mean with t CI, % high effort (5-7) with Wilson CI."""

    mean: float
    mean_ci_low: float
    mean_ci_high: float
    high_effort_pct: float
    high_effort_ci_low: float
    high_effort_ci_high: float
    n: int
    n_missing: int = 0

    def summary(self) -> pd.DataFrame:
        """Mean (points) and high-effort share (%) with 95% CIs and n."""
        return pd.DataFrame(
            [
                {
                    "metric": "mean",
                    "value": self.mean,
                    "ci_low": self.mean_ci_low,
                    "ci_high": self.mean_ci_high,
                    "unit": "points (1-7)",
                    "n": self.n,
                },
                {
                    "metric": "high_effort_pct",
                    "value": self.high_effort_pct,
                    "ci_low": self.high_effort_ci_low,
                    "ci_high": self.high_effort_ci_high,
                    "unit": "%",
                    "n": self.n,
                },
            ]
        ).set_index("metric")

    def to_estimates(self, prefix: str = "ces") -> dict[str, Estimate]:
        """`<prefix>_mean` and `<prefix>_high_effort_pct` as `Estimate`s."""
        labels = {"mean": "CES mean effort score", "high_effort_pct": "High effort (CES 5-7)"}
        return {
            f"{prefix}_{m}": Estimate(float(r.value), r.unit, labels[m], *_ci(r.ci_low, r.ci_high), self.n)
            for m, r in self.summary().iterrows()
        }


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
        return pd.DataFrame(
            [
                {
                    "group": "a",
                    "nps": self.a.score,
                    "ci_low": self.a.ci_low,
                    "ci_high": self.a.ci_high,
                    "n": self.a.n,
                    "p_value": np.nan,
                },
                {
                    "group": "b",
                    "nps": self.b.score,
                    "ci_low": self.b.ci_low,
                    "ci_high": self.b.ci_high,
                    "n": self.b.n,
                    "p_value": np.nan,
                },
                {
                    "group": "a - b",
                    "nps": self.difference,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "n": self.a.n + self.b.n,
                    "p_value": self.p_value,
                },
            ]
        ).set_index("group")

    def to_estimates(self, prefix: str = "nps_difference") -> dict[str, Estimate]:
        """The difference as one `Estimate` (the p-value goes in its note)."""
        return {
            prefix: Estimate(
                self.difference,
                "points",
                "Difference in NPS (a - b)",
                *_ci(self.ci_low, self.ci_high),
                self.a.n + self.b.n,
                note=f"two-sided p = {self.p_value:.3g}",
            )
        }


def nps(scores: ArrayLike) -> NPSResult:
    """Net Promoter Score (% promoters 9-10 minus % detractors 0-6, in points) with a 95% normal-approx CI.

    Missing values (NaN/None) are dropped and counted in `n_missing`; any other value outside the integers
    0-10 raises ValueError. The variance is the multinomial one,
    ``(p_pro + p_det - (p_pro - p_det)**2) / n``, scaled by 100**2; the interval is clipped to [-100, 100].
    """
    values, n_missing = _scores(scores, "nps")
    n = values.size
    pro = float((values >= 9).mean())
    det = float((values <= 6).mean())
    passive = float(((values >= 7) & (values <= 8)).mean())
    score = 100.0 * (pro - det)
    half = Z95 * 100.0 * float(np.sqrt((pro + det - (pro - det) ** 2) / n))
    return NPSResult(
        score, max(-100.0, score - half), min(100.0, score + half), pro, passive, det, n, n_missing
    )


def csat(scores: ArrayLike) -> CSATResult:
    """CSAT summary: % top-2-box (4-5) with Wilson 95% CI and mean score (1-5) with t 95% CI."""
    values, n_missing = _scores(scores, "csat")
    top = int((values >= 4).sum())
    low, high = wilson_pct(top, values.size)
    mean, mean_low, mean_high = _mean_ci(values, *SCORE_RANGES["csat"])
    return CSATResult(100.0 * top / values.size, low, high, mean, mean_low, mean_high, values.size, n_missing)


def ces(scores: ArrayLike) -> CESResult:
    """CES summary: mean effort (1-7) with t 95% CI and % high effort (5-7) with Wilson 95% CI."""
    values, n_missing = _scores(scores, "ces")
    high_effort = int((values >= 5).sum())
    low, high = wilson_pct(high_effort, values.size)
    mean, mean_low, mean_high = _mean_ci(values, *SCORE_RANGES["ces"])
    return CESResult(
        mean, mean_low, mean_high, 100.0 * high_effort / values.size, low, high, values.size, n_missing
    )


def nps_group(scores: ArrayLike) -> pd.Series:
    """Label each NPS response promoter (9-10), passive (7-8) or detractor (0-6); missing stays missing."""
    series = pd.Series(scores)
    if series.notna().any():
        _scores(series, "nps")  # raises ValueError naming any value that is not an integer 0-10
    numeric = pd.to_numeric(series)
    labels = pd.cut(numeric, bins=[-0.5, 6.5, 8.5, 10.5], labels=list(NPS_GROUPS))
    return pd.Series(labels, index=series.index, name="nps_group")


def compare_nps(a: ArrayLike, b: ArrayLike) -> NPSComparison:
    """NPS difference between two independent samples (a - b, points): Wald 95% CI and two-sided z-test.

    The standard error adds the two multinomial variances. When both groups have zero variance (e.g. all
    promoters) the test is undefined and the p-value is NaN.
    """
    result_a, result_b = nps(a), nps(b)
    diff = result_a.score - result_b.score
    se = float(np.sqrt(result_a.variance + result_b.variance))
    if se == 0.0:
        return NPSComparison(result_a, result_b, diff, diff, diff, float("nan"))
    p_value = float(2.0 * stats.norm.sf(abs(diff) / se))
    return NPSComparison(result_a, result_b, diff, diff - Z95 * se, diff + Z95 * se, p_value)


def churn_by_level(
    snapshot: pd.DataFrame,
    column: str,
    bins: int | Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Churn rate (% of active customers churning in the prediction window) by score level, Wilson 95% CIs.

    Uses only customers active at the snapshot's as_of date who have a value in `column`.

    Parameters
    ----------
    snapshot
        Per-customer snapshot with `active`, `churned` and `column`.
    column
        Score column, e.g. ``"nps_last"``, ``"ces_mean_90d"``.
    bins
        Passed to `pandas.cut` (number of equal-width bins or bin edges, lowest edge included). When None:
        columns starting with ``nps`` are grouped detractor (<7) / passive (7 to <9) / promoter (>=9); columns
        with at most 15 distinct whole-number values use each value as a level; anything else uses quintiles.
    labels
        Level labels for `bins`.

    Returns
    -------
    DataFrame indexed by level (in scale order; empty levels omitted) with `n`, `n_churned`, `churn_pct`,
    `ci_low`, `ci_high` (percent).
    """
    for needed in ("active", "churned", column):
        if needed not in snapshot.columns:
            raise ValueError(f"snapshot has no column {needed!r}")
    rows = snapshot.loc[snapshot["active"].eq(True) & snapshot[column].notna(), [column, "churned"]]
    if rows["churned"].isna().any():
        raise ValueError(
            f"column 'churned' is missing for {int(rows['churned'].isna().sum())} active customers"
        )
    values = pd.to_numeric(rows[column])
    churned = rows["churned"].astype(bool)
    if bins is not None:
        level = pd.cut(values, bins=bins, labels=labels, include_lowest=True)
        name = column
    elif column.startswith("nps"):
        # Half-open edges also place mean scores (nps_mean 8.5 -> passive) consistently with the 0-10 rule.
        level = pd.cut(values, bins=[-np.inf, 7, 9, np.inf], labels=list(NPS_GROUPS), right=False)
        name = "nps_group"
    elif np.all(np.mod(values, 1) == 0) and values.nunique() <= 15:
        level = values.astype(int)
        name = column
    else:
        level = pd.qcut(values, q=5, duplicates="drop")
        name = f"{column} (quintile)"
    grouped = churned.groupby(level, observed=True).agg(n="size", n_churned="sum")
    grouped.index.name = name
    grouped["n_churned"] = grouped["n_churned"].astype(int)
    grouped["churn_pct"] = 100.0 * grouped["n_churned"] / grouped["n"]
    cis = [wilson_pct(c, n) for c, n in zip(grouped["n_churned"], grouped["n"], strict=True)]
    grouped["ci_low"] = [c[0] for c in cis]
    grouped["ci_high"] = [c[1] for c in cis]
    return grouped
