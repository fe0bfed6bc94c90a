"""Multiple comparisons: Holm's step-down adjustment (Holm 1979)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Family-wise error rate of the claims' verdicts.
ALPHA = 0.05


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down adjustment (Holm 1979): adjusted p-values and each row's significance level.

    The k-th smallest of m p-values is adjusted to max over j <= k of min(1, (m - j + 1) p_(j)). The level of a
    row the step-down rejects is alpha / (m - k + 1) at its rank k; once it stops at rank k0, that row and every
    later one keep alpha / (m - k0 + 1). A row's (1 - level) CI then excludes its null exactly when its adjusted p
    is below `alpha`.
    """
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    steps = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted, levels = np.empty(m), np.empty(m)
    adjusted[order] = np.maximum.accumulate(steps) if m else steps
    stopped = None
    for rank, row in enumerate(order):
        if stopped is None and adjusted[row] >= alpha:
            stopped = alpha / (m - rank)
        levels[row] = stopped if stopped is not None else alpha / (m - rank)
    return adjusted, levels


def holm_adjusted(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values of the non-missing entries of `p_values`; a missing p-value stays NaN and does not
    count towards the family."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), np.nan)
    tested = np.isfinite(p)
    if tested.any():
        out[tested] = holm(p[tested])[0]
    return out
