"""Checks of a randomisation: standardised mean differences of pre-assignment covariates between arms, and a
sample-ratio mismatch test of the arm counts against the intended allocation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from cxresearch.stats.estimate import format_p
from cxresearch.stats.tables import TableSummary

#: |SMD| above which a covariate counts as imbalanced (Austin 2009).
SMD_THRESHOLD = 0.1
#: p-value below which arm counts signal a sample-ratio mismatch (Fabijan et al. 2019 use 0.0005; 0.001 is common).
SRM_ALPHA = 0.001


@dataclass
class BalanceResult(TableSummary):
    """Standardised mean difference of each covariate (numeric, or one row per level of a categorical one)
    between each arm and control; `flagged` where |smd| exceeds `threshold`.

    `table` (`summary()`), one row per arm and covariate: means, SMD, flag.
    """

    control: str
    threshold: float
    table: pd.DataFrame

    @property
    def balanced(self) -> bool:
        """Whether no covariate is flagged."""
        return not bool(self.table["flagged"].any())

    def _repr_html_(self) -> str:
        flagged = int(self.table["flagged"].sum())
        head = (f"<b>Covariate balance</b>: {flagged} of {len(self.table)} differences with "
                f"|SMD| > {self.threshold}")
        return head + self.table.to_html(index=False)


@dataclass
class SRMResult:
    """Arm counts against the intended allocation: chi-square statistic, degrees of freedom and p-value."""

    counts: pd.DataFrame
    chi2: float
    df: int
    p_value: float
    alpha: float

    @property
    def mismatch(self) -> bool:
        """Whether the counts are implausible under the intended allocation (p < alpha)."""
        return self.p_value < self.alpha

    def summary(self) -> pd.DataFrame:
        """Observed and expected count per arm."""
        return self.counts.copy()

    def _repr_html_(self) -> str:
        verdict = "sample-ratio mismatch" if self.mismatch else "no sample-ratio mismatch"
        head = f"<b>{verdict}</b>: chi-square {self.chi2:.2f} on {self.df} df, {format_p(self.p_value)}"
        return head + self.counts.to_html(index=False)


def _smd(x1: np.ndarray, x0: np.ndarray, binary: bool) -> float:
    """(mean1 - mean0) / sqrt((var1 + var0) / 2); p(1 - p) variances for 0/1 covariates."""
    m1, m0 = x1.mean(), x0.mean()
    v1, v0 = (m1 * (1 - m1), m0 * (1 - m0)) if binary else (x1.var(ddof=1), x0.var(ddof=1))
    pooled = np.sqrt((v1 + v0) / 2)
    if pooled == 0:
        return 0.0 if m1 == m0 else float("inf")
    return float((m1 - m0) / pooled)


def _columns(covariates: pd.DataFrame) -> list[tuple[str, np.ndarray, bool]]:
    """(label, values, is 0/1) per numeric covariate and per level (as `col=level`) of categorical ones."""
    out = []
    for col in covariates.columns:
        values = covariates[col]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            text = values.astype(str)
            out += [(f"{col}={level}", (text == level).to_numpy(float), True) for level in sorted(text.unique())]
        else:
            x = values.to_numpy(float)
            out.append((col, x, bool(np.isin(x, (0, 1)).all())))
    return out


def covariate_balance(
    covariates: pd.DataFrame, arm: ArrayLike, *, control: str = "control", threshold: float = SMD_THRESHOLD
) -> BalanceResult:
    """Standardised mean differences of pre-assignment covariates between each arm and control.

    Parameters
    ----------
    covariates : pandas.DataFrame
        Covariates measured before assignment, one row per customer. Numeric columns are compared as they are;
        other (and boolean) columns get one 0/1 indicator per level.
    arm : array-like
        Assigned arm per customer (same order as `covariates`).
    control : str
        Label of the control arm.
    threshold : float
        |SMD| above which a difference is flagged (0.1 by convention).

    Returns
    -------
    BalanceResult
        One row per arm and covariate: mean, mean_control, smd (no unit: differences in pooled standard
        deviations) and flagged.

    References
    ----------
    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline covariates between
    treatment groups in propensity-score matched samples. Statistics in Medicine 28, 3083-3107.
    """
    arms = np.asarray(arm).astype(str)
    if len(arms) != len(covariates):
        raise ValueError(f"arm has {len(arms)} values but covariates has {len(covariates)} rows")
    if control not in set(arms):
        raise ValueError(f"control arm {control!r} not found among arms {sorted(set(arms))}")
    rows = []
    for label, x, binary in _columns(covariates):
        x0 = x[arms == control]
        for treated in sorted(set(arms) - {control}):
            x1 = x[arms == treated]
            smd = _smd(x1, x0, binary)
            rows.append({"arm": treated, "covariate": label, "mean": float(x1.mean()),
                         "mean_control": float(x0.mean()), "smd": smd, "flagged": bool(abs(smd) > threshold)})
    return BalanceResult(control, threshold, pd.DataFrame(rows))


def sample_ratio_mismatch(
    arm: ArrayLike, allocation: Mapping[str, float] | None = None, *, alpha: float = SRM_ALPHA
) -> SRMResult:
    """Chi-square goodness-of-fit test of the arm counts against the intended allocation.

    Parameters
    ----------
    arm : array-like
        Assigned arm per customer.
    allocation : mapping of str to float, optional
        Intended share (or weight) of each arm; equal shares when omitted. Arms in the data but missing here are
        an error.
    alpha : float
        Significance level below which the counts signal a mismatch (strict, since the test guards the whole
        experiment and runs on large samples).

    Returns
    -------
    SRMResult
        Observed and expected counts, chi-square statistic on (arms - 1) df and its p-value.

    References
    ----------
    Fabijan, A., Gupchup, J., Gupta, S., Omhover, J., Qin, W., Vermeer, L. and Dmitriev, P. (2019). Diagnosing
    sample ratio mismatch in online controlled experiments. KDD 2019, 2156-2164.
    """
    observed = pd.Series(np.asarray(arm).astype(str)).value_counts().sort_index()
    weights = pd.Series(allocation if allocation is not None else dict.fromkeys(observed.index, 1.0), dtype=float)
    unknown = sorted(set(observed.index) - set(weights.index))
    if unknown:
        raise ValueError(f"arms {unknown} are in the data but not in the allocation {dict(weights)}")
    observed = observed.reindex(weights.index, fill_value=0)
    expected = weights / weights.sum() * observed.sum()
    chi2, p = stats.chisquare(observed.to_numpy(float), expected.to_numpy(float))
    counts = pd.DataFrame({"arm": weights.index, "observed": observed.to_numpy(), "expected": expected.to_numpy()})
    return SRMResult(counts, float(chi2), len(weights) - 1, float(p), alpha)
