"""Normal and Wilson 95% intervals: the one home of `Z95` and of the Wilson score interval of a proportion."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint

#: Z value of a two-sided 95% normal interval (scipy.stats.norm.ppf(0.975)).
Z95 = 1.959963984540054


def wilson_pct(count: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion, in percent within [0, 100] and around count / n (NaN when n is 0)."""
    if n == 0:
        return float("nan"), float("nan")
    low, high = proportion_confint(count, n, alpha=0.05, method="wilson")
    # floating-point rounding can put an end a hair outside [0, 100] or past the estimate at 0% and 100%
    share = 100.0 * count / n
    return float(np.clip(100.0 * low, 0.0, share)), float(np.clip(100.0 * high, share, 100.0))


def wilson_interval(p: float, n: int) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion p observed on n trials (Wilson 1927)."""
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / denom
    return centre - half, centre + half
