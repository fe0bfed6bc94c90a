"""Loyalty metrics (NPS, CSAT, CES) with 95% confidence intervals, and churn rate by score level."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cxresearch.data.schema import SCORE_RANGES
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95, wilson_pct


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


def _mean_ci(values: np.ndarray, low: float, high: float) -> tuple[float, float, float]:
    """Mean of scores on the scale [low, high] with an adjusted 95% interval that never collapses (scale units).

    Agresti & Caffo (2000) add one success and one failure to each sample before a Wald interval for
    proportions; the same device for a score bounded by `low` and `high` adds one pseudo-answer at each end of
    the scale (for a 0/1 score it is their adjustment exactly). All answers alike (every CSAT a 5) then still leave
    an interval that reaches into the scale, where a t interval has width 0; one answer gives one too. Simulated
    coverage: 95-96% for n = 30 to 100 away from the edges, above 95% near them (tests/test_honest_numbers.py).
    The interval is clipped to the scale and always contains the observed mean.
    """
    mean = float(values.mean())
    pseudo = 1.0
    n_adj = values.size + 2.0 * pseudo
    center = (float(values.sum()) + pseudo * (low + high)) / n_adj
    spread = (float(np.sum((values - center) ** 2)) + pseudo * ((low - center) ** 2 + (high - center) ** 2)) / n_adj
    half = Z95 * float(np.sqrt(spread / n_adj))
    return mean, float(min(mean, max(low, center - half))), float(max(mean, min(high, center + half)))


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
    """CSAT (1-5): top-2-box share (%, scores 4-5) with Wilson CI and mean score with an adjusted CI (`_mean_ci`)."""

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
    """CES (1 = very low .. 7 = very high effort): mean with an adjusted CI (`_mean_ci`), % high effort (5-7) with Wilson CI."""

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
    """
    values, n_missing = _scores(scores, "nps")
    n = values.size
    promoters, detractors = int((values >= 9).sum()), int((values <= 6).sum())
    low, high, _ = nps_interval(promoters, detractors, n)
    return NPSResult(100.0 * (promoters - detractors) / n, low, high, promoters / n, 1.0 - (promoters + detractors) / n,
                     detractors / n, n, n_missing)


def csat(scores: ArrayLike) -> CSATResult:
    """CSAT summary: % top-2-box (4-5) with Wilson 95% CI and mean score (1-5) with an adjusted 95% CI (`_mean_ci`)."""
    values, n_missing = _scores(scores, "csat")
    top = int((values >= 4).sum())
    low, high = wilson_pct(top, values.size)
    mean, mean_low, mean_high = _mean_ci(values, *SCORE_RANGES["csat"])
    return CSATResult(100.0 * top / values.size, low, high, mean, mean_low, mean_high, values.size, n_missing)


def ces(scores: ArrayLike) -> CESResult:
    """CES summary: mean effort (1-7) with an adjusted 95% CI (`_mean_ci`) and % high effort (5-7) with Wilson 95% CI."""
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
    """NPS difference between two independent samples (a - b, points): adjusted-Wald 95% CI and two-sided z-test.

    Each group's NPS is adjusted as in `nps_interval` (3/4 promoter and 3/4 detractor added, n + 3) and the
    standard error adds the two adjusted variances, as Agresti & Caffo (2000) do for two proportions: groups of
    all promoters still get an interval of positive width. The interval is clipped to [-200, 200] and contains
    the observed difference.
    """
    result_a, result_b = nps(a), nps(b)
    diff = result_a.score - result_b.score
    center = result_a.adjusted_score - result_b.adjusted_score
    se = float(np.sqrt(result_a.variance + result_b.variance))
    p_value = float(2.0 * stats.norm.sf(abs(center) / se))
    low, high = max(-200.0, center - Z95 * se), min(200.0, center + Z95 * se)
    return NPSComparison(result_a, result_b, diff, min(diff, low), max(diff, high), p_value)


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


#: Headline statistic per instrument: (NPSResult/CSATResult/CESResult attribute, CI attributes, unit, label).
HEADLINES: dict[str, tuple[str, str, str, str, str]] = {
    "nps": ("score", "ci_low", "ci_high", "points", "NPS"),
    "csat": ("top2_pct", "top2_ci_low", "top2_ci_high", "%", "CSAT % satisfied (4-5)"),
    "ces": ("high_effort_pct", "high_effort_ci_low", "high_effort_ci_high", "%", "CES % high effort (5-7)"),
}
_METRICS = {"nps": nps, "csat": csat, "ces": ces}


def metric_by(scores: pd.Series, groups: pd.Series, instrument: str, min_n: int = 30) -> pd.DataFrame:
    """Headline metric of `instrument` (see `HEADLINES`) per group with 95% CI; groups under `min_n` dropped.

    Returns a DataFrame indexed by group (sorted) with `value`, `ci_low`, `ci_high`, `n`, `unit`.
    """
    if instrument not in HEADLINES:
        raise ValueError(f"instrument must be one of {sorted(HEADLINES)}, not {instrument!r}")
    attr, low, high, unit, _ = HEADLINES[instrument]
    rows = []
    frame = pd.DataFrame({"score": pd.Series(scores).to_numpy(), "group": pd.Series(groups).to_numpy()})
    for level, group in frame.dropna().groupby("group", observed=True, sort=True):
        if len(group) < min_n:
            continue
        result = _METRICS[instrument](group["score"])
        rows.append({"group": level, "value": getattr(result, attr), "ci_low": getattr(result, low),
                     "ci_high": getattr(result, high), "n": result.n, "unit": unit})
    columns = ["group", "value", "ci_low", "ci_high", "n", "unit"]
    return pd.DataFrame(rows, columns=columns).set_index("group")


def metric_by_channel(
    surveys: pd.DataFrame, contacts: pd.DataFrame, instrument: str, min_n: int = 30
) -> pd.DataFrame:
    """`metric_by` the channel of the contact each survey followed (linked by `contact_id`); unlinked dropped."""
    rows = surveys[surveys["instrument"] == instrument]
    # Index only the contacts these surveys link to: indexing tens of millions of contacts costs a minute.
    linked = contacts[contacts["contact_id"].isin(rows["contact_id"].dropna())]
    channel_of = linked.drop_duplicates("contact_id").set_index("contact_id")["channel"]
    return metric_by(rows["score"], rows["contact_id"].map(channel_of), instrument, min_n)


def monthly_trend(surveys: pd.DataFrame, instrument: str, min_n: int = 30) -> pd.DataFrame:
    """Headline metric of `instrument` per calendar month of the response (95% CIs), months under `min_n` dropped.

    The index holds each month's first day (Timestamp), named `month`.
    """
    rows = surveys[surveys["instrument"] == instrument]
    # datetime64[M] truncation: the same month starts as `dt.to_period("M")`, ten times faster on millions of rows
    month = pd.Series(rows["timestamp"].to_numpy().astype("datetime64[M]").astype("datetime64[ns]"), index=rows.index)
    table = metric_by(rows["score"], month, instrument, min_n)
    table.index = pd.DatetimeIndex(table.index, name="month")
    return table


@dataclass(frozen=True)
class PredictiveValidity:
    """ROC-AUC of single scores for churn on the same rows, and AUC differences vs a reference, 95% CIs.

    `aucs` is indexed by score (columns `auc`, `ci_low`, `ci_high`); `differences` by ``"<reference> - <other>"``
    (columns `difference`, `ci_low`, `ci_high`, `p_value`). CIs are percentile bootstrap over clusters.
    """

    aucs: pd.DataFrame
    differences: pd.DataFrame
    reference: str
    n: int
    n_events: int
    n_clusters: int
    n_boot: int
    #: the bootstrap AUCs, one column per score (rows: draws), for intervals at other levels than 95%
    draws: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def difference_draws(self, other: str) -> np.ndarray:
        """Bootstrap draws of the AUC of `reference` minus that of `other`."""
        if self.draws is None:
            raise ValueError("these results keep no bootstrap draws")
        return (self.draws[self.reference] - self.draws[other]).to_numpy(float)

    def summary(self) -> pd.DataFrame:
        """AUC per score and the differences, in one table."""
        aucs = self.aucs.rename(columns={"auc": "value"}).assign(p_value=np.nan)
        diffs = self.differences.rename(columns={"difference": "value"})
        return pd.concat([aucs, diffs]).rename_axis("measure")

    def to_estimates(self, prefix: str = "auc") -> dict[str, Estimate]:
        """Each AUC and difference as an `Estimate` keyed `<prefix>_<score>` / `<prefix>_diff_<other>`."""
        out = {}
        for name, row in self.aucs.iterrows():
            out[f"{prefix}_{name}"] = Estimate(float(row.auc), "", f"ROC-AUC of {name} for churn",
                                               float(row.ci_low), float(row.ci_high), self.n)
        for name, row in self.differences.iterrows():
            other = str(name).split(" - ")[1]
            out[f"{prefix}_diff_{other}"] = Estimate(
                float(row.difference), "", f"AUC difference {name}", float(row.ci_low), float(row.ci_high), self.n,
                note=f"paired cluster bootstrap ({self.n_boot} draws), p = {row.p_value:.3g}",
            )
        return out


def _weighted_auc(codes: np.ndarray, n_levels: int, y: np.ndarray, w: np.ndarray) -> float:
    """AUC (ties count 1/2) of ordinal score codes (higher = more churn) with frequency weights `w`."""
    pos = np.bincount(codes, weights=w * y, minlength=n_levels)
    neg = np.bincount(codes, weights=w * (1.0 - y), minlength=n_levels)
    below = np.cumsum(neg) - neg
    pairs = pos.sum() * neg.sum()
    return float(np.sum(pos * (below + 0.5 * neg)) / pairs) if pairs > 0 else float("nan")


def compare_predictive_validity(
    churned: ArrayLike,
    scores: dict[str, ArrayLike],
    reference: str,
    clusters: ArrayLike | None = None,
    n_boot: int = 500,
    seed: int = 0,
) -> PredictiveValidity:
    """How well each score alone ranks churners above stayers (ROC-AUC), and reference minus each other score.

    Every score must already be oriented so that higher means more churn expected (e.g. pass ``-csat``), and
    all are evaluated on the same rows (rows missing any score are dropped). The CIs come from a paired
    bootstrap that resamples `clusters` (e.g. customers observed in several snapshots) with replacement, so
    each draw evaluates all scores on the same resampled customers, as DeLong et al. (1988) compare correlated
    AUCs; the p-value is twice the share of draws on the far side of 0 (Efron & Tibshirani 1993).
    """
    if reference not in scores:
        raise ValueError(f"reference {reference!r} is not among the scores {sorted(scores)}")
    frame = pd.DataFrame({name: pd.to_numeric(pd.Series(v).reset_index(drop=True)) for name, v in scores.items()})
    frame["_y"] = pd.Series(churned).reset_index(drop=True).astype(float)
    frame["_c"] = np.arange(len(frame)) if clusters is None else pd.Series(clusters).reset_index(drop=True)
    frame = frame.dropna()
    y = frame["_y"].to_numpy()
    n_events = int(y.sum())
    if n_events == 0 or n_events == len(y):
        raise ValueError(f"AUC needs churners and stayers: {n_events} of {len(y)} rows churned")
    cluster_codes, cluster_index = np.unique(frame["_c"].to_numpy(), return_inverse=True)
    coded = {}
    for name in scores:
        levels, codes = np.unique(frame[name].to_numpy(dtype=float), return_inverse=True)
        coded[name] = (codes, len(levels))
    ones = np.ones(len(y))
    point = {name: _weighted_auc(c, k, y, ones) for name, (c, k) in coded.items()}
    rng = np.random.default_rng(seed)
    draws = np.empty((n_boot, len(scores)))
    for b in range(n_boot):
        weight = np.bincount(rng.integers(0, len(cluster_codes), len(cluster_codes)),
                             minlength=len(cluster_codes))[cluster_index].astype(float)
        draws[b] = [_weighted_auc(c, k, y, weight) for c, k in coded.values()]
    draws = draws[~np.isnan(draws).any(axis=1)]  # a draw without churners or stayers has no AUC
    names = list(scores)
    aucs = pd.DataFrame(
        {"auc": [point[n] for n in names], "ci_low": np.percentile(draws, 2.5, axis=0),
         "ci_high": np.percentile(draws, 97.5, axis=0)},
        index=pd.Index(names, name="score"),
    )
    ref = names.index(reference)
    rows = {}
    for i, name in enumerate(names):
        if i == ref:
            continue
        diff = draws[:, ref] - draws[:, i]
        p_value = min(1.0, 2.0 * min(np.mean(diff <= 0), np.mean(diff >= 0)))
        rows[f"{reference} - {name}"] = {
            "difference": point[reference] - point[name], "ci_low": float(np.percentile(diff, 2.5)),
            "ci_high": float(np.percentile(diff, 97.5)), "p_value": float(p_value),
        }
    differences = pd.DataFrame.from_dict(rows, orient="index").rename_axis("comparison")
    return PredictiveValidity(aucs, differences, reference, len(y), n_events, len(cluster_codes), len(draws),
                              pd.DataFrame(draws, columns=names))


@dataclass(frozen=True)
class SurveyWindow:
    """The survey answers a loyalty report summarises: `surveys` (all answers, for trends), `recent` (those in
    the lookback before the cutoff) and `period`, the words saying which answers these are."""

    surveys: pd.DataFrame
    recent: pd.DataFrame
    period: str
    dated: bool


def flat_responses(snapshot: pd.DataFrame) -> pd.DataFrame:
    """Survey-like rows (customer_id, timestamp, instrument, score) from a flat snapshot's one score per customer
    (`nps_last`, `csat_last`, `ces_last`), dated at the snapshot's `as_of` (when it was given is not recorded)."""
    when = pd.Timestamp(snapshot.attrs.get("as_of")) if snapshot.attrs.get("as_of") else pd.NaT
    frames = [
        pd.DataFrame({"customer_id": snapshot["customer_id"].astype(object), "timestamp": when,
                      "instrument": name, "score": snapshot[f"{name}_last"]}).dropna(subset=["score"])
        for name in ("nps", "csat", "ces") if f"{name}_last" in snapshot
    ]
    columns = ["customer_id", "timestamp", "instrument", "score"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def survey_window(
    surveys: pd.DataFrame, snapshot: pd.DataFrame | None, cutoff: pd.Timestamp, lookback_months: int, dated: bool
) -> SurveyWindow:
    """The answers of the `lookback_months` before `cutoff` (dated data), or on flat data (`dated` False) each
    customer's one score from the flat `snapshot`, whose date is unknown."""
    if not dated and snapshot is not None:
        rows = flat_responses(snapshot)
        return SurveyWindow(rows, rows, "one score per customer, its date not recorded (flat data)", False)
    since = cutoff - pd.DateOffset(months=lookback_months)
    recent = surveys[(surveys["timestamp"] < cutoff) & (surveys["timestamp"] >= since)]
    return SurveyWindow(surveys, recent, f"in the {lookback_months} months before {cutoff.date()}", True)


def nps_by_segment(
    surveys: pd.DataFrame, customers: pd.DataFrame, segment: str, min_n: int = 30
) -> dict[str, NPSResult]:
    """NPS (points) of the NPS responses in `surveys` per level of the customers' `segment` column, for levels
    with at least `min_n` responses."""
    answers = surveys[surveys["instrument"] == "nps"]
    level_of = customers.set_index("customer_id")[segment]
    return {str(level): nps(group["score"]) for level, group in answers.groupby(answers["customer_id"].map(level_of))
            if len(group) >= min_n}


def surveys_linked(surveys: pd.DataFrame, contacts: pd.DataFrame) -> bool:
    """Whether survey responses can be tied to the service contact that triggered them: `contact_id` on both,
    and at least one survey's `contact_id` found among the contacts (a contacts table may be empty)."""
    if "contact_id" not in surveys or "contact_id" not in contacts:
        return False
    return bool(surveys["contact_id"].dropna().isin(contacts["contact_id"].dropna()).any())


def nps_gap_churned(snapshot: pd.DataFrame | None) -> NPSComparison | None:
    """Latest NPS of active customers who went on to churn minus those who stayed (points, `compare_nps`), or
    None when the snapshot has no NPS scores, or either group has none."""
    if snapshot is None or "nps_last" not in snapshot or not snapshot["nps_last"].notna().any():
        return None
    active = snapshot[snapshot["active"]]
    churners, stayers = (active.loc[active["churned"] == flag, "nps_last"].dropna() for flag in (True, False))
    return compare_nps(churners, stayers) if len(churners) and len(stayers) else None
