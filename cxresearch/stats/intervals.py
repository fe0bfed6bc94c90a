"""Normal and Wilson 95% intervals: the one home of `Z95` and of the Wilson score interval of a proportion."""

from __future__ import annotations

import numpy as np
from scipy import stats
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


def mean_t_interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean of `x` with its Student-t 95% interval (NaN ends for fewer than two values).

    The lower end of a mean of non-negative values (costs) is cut at 0, the smallest such a mean can be.

    Parameters
    ----------
    x
        The values, in their own unit.

    Returns
    -------
    tuple of float
        Mean, lower and upper end of the interval, in the unit of `x`.
    """
    mean = float(np.mean(x))
    if len(x) < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.975, len(x) - 1)) * float(np.std(x, ddof=1)) / np.sqrt(len(x))
    low = max(mean - half, 0.0) if np.min(x) >= 0 else mean - half
    return mean, low, mean + half


def bounded_mean_interval(values: np.ndarray, low: float, high: float) -> tuple[float, float, float]:
    """Mean of scores on the scale [low, high] with an adjusted 95% interval that never collapses (scale units).

    Agresti & Caffo (2000) add one success and one failure to each sample before a Wald interval for
    proportions; the same device for a score bounded by `low` and `high` adds one pseudo-answer at each end of
    the scale (for a 0/1 score it is their adjustment exactly). All answers alike (every CSAT a 5) then still leave
    an interval that reaches into the scale, where a t interval has width 0; one answer gives one too. Simulated
    coverage: 95-96% for n = 30 to 100 away from the edges, above 95% near them (tests/report/test_honest_numbers.py).

    Parameters
    ----------
    values
        The scores, each within [low, high].
    low, high
        The ends of the scale.

    Returns
    -------
    tuple of float
        The observed mean and the interval's lower and upper end, in scale units; the interval is clipped to the
        scale and always contains the observed mean.

    References
    ----------
    Agresti & Caffo (2000), "Simple and effective confidence intervals for proportions and differences of
    proportions result from adding two successes and two failures", The American Statistician 54(4):280-288.
    """
    mean = float(values.mean())
    pseudo = 1.0
    n_adj = values.size + 2.0 * pseudo
    center = (float(values.sum()) + pseudo * (low + high)) / n_adj
    spread = (float(np.sum((values - center) ** 2)) + pseudo * ((low - center) ** 2 + (high - center) ** 2)) / n_adj
    half = Z95 * float(np.sqrt(spread / n_adj))
    return mean, float(min(mean, max(low, center - half))), float(max(mean, min(high, center + half)))
