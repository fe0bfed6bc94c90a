"""Predictive validity of single scores for churn: ROC-AUC with a paired cluster bootstrap, and AUC differences."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.loyalty.metrics import ArrayLike
from cxresearch.stats.estimate import Estimate


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

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebook display)."""
        return self.summary().to_html()

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

    Parameters
    ----------
    churned
        Churn outcome per row (0/1).
    scores
        Score per name, oriented so that higher means more churn expected.
    reference
        The score the others are compared with.
    clusters
        Cluster of each row (e.g. customer id) the bootstrap resamples; None treats rows as
        independent.
    n_boot
        Bootstrap draws.
    seed
        Seed of the bootstrap.

    Returns
    -------
    PredictiveValidity
        AUC per score and the differences from the reference, with 95% CIs and the bootstrap draws.
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
    differences = _differences(point, draws, names, reference)
    return PredictiveValidity(aucs, differences, reference, len(y), n_events, len(cluster_codes), len(draws),
                              pd.DataFrame(draws, columns=names))


def _differences(point: dict[str, float], draws: np.ndarray, names: list[str], reference: str) -> pd.DataFrame:
    """AUC of `reference` minus each other score's: point difference, percentile 95% CI and bootstrap p-value."""
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
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("comparison")
