"""Qini and uplift curves of a ranking of customers by predicted uplift, on data the model did not see, with
percentile bootstrap bands, and the Qini coefficient (area between the Qini curve and random targeting)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from cxresearch.stats.estimate import Estimate

#: Fractions targeted at which curves and their bands are reported.
GRID = np.linspace(0.0, 1.0, 101)


@dataclass
class QiniResult:
    """Qini and uplift curves on the grid `fraction` (share of customers targeted, best-ranked first) with 95%
    bootstrap bands, the exact curve points, and the Qini coefficient with its bootstrap CI.

    `qini` is in incremental outcomes (counts, on the scale of the treated group: Radcliffe's definition);
    `uplift` in incremental outcomes on the scale of everyone targeted (Gutierrez and Gerardy's uplift curve);
    `random` the Qini of targeting at random (a straight line to the last point).
    """

    label: str
    n: int
    n_treated: int
    fraction: np.ndarray
    qini: np.ndarray
    qini_low: np.ndarray
    qini_high: np.ndarray
    uplift: np.ndarray
    uplift_low: np.ndarray
    uplift_high: np.ndarray
    coefficient: Estimate
    points: pd.DataFrame

    @property
    def random(self) -> np.ndarray:
        """Qini of random targeting on the grid: the straight line from 0 to the Qini of targeting everyone."""
        return self.fraction * self.qini[-1]

    def summary(self) -> pd.DataFrame:
        """The curves with their bands at every tenth of customers targeted."""
        rows = np.searchsorted(self.fraction, np.linspace(0.1, 1.0, 10) - 1e-12)
        return pd.DataFrame({
            "share_targeted": self.fraction[rows], "qini": self.qini[rows], "qini_low": self.qini_low[rows],
            "qini_high": self.qini_high[rows], "random": self.random[rows], "uplift": self.uplift[rows],
            "uplift_low": self.uplift_low[rows], "uplift_high": self.uplift_high[rows],
        })

    def _repr_html_(self) -> str:
        name = f": {self.label}" if self.label else ""
        head = f"<b>Qini curve{name}</b>, coefficient {self.coefficient.format(2)}"
        return head + self.summary().to_html(index=False)


def _cumulative(t: np.ndarray, y: np.ndarray, w: np.ndarray, ends: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted cumulative counts and outcome sums by arm at the end of each tie group, starting from zero."""
    def cum(values: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(values)[ends]])
    return {"k": cum(w), "n_t": cum(w * t), "n_c": cum(w * (1 - t)), "y_t": cum(w * t * y),
            "y_c": cum(w * (1 - t) * y)}


def _curves(c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction targeted, Qini and uplift curves from the cumulative sums; a ratio over an arm still empty
    counts as 0 (its outcome sum is 0 too), as scikit-uplift does."""
    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    qini = c["y_t"] - c["y_c"] * ratio(c["n_t"], c["n_c"])
    uplift = (ratio(c["y_t"], c["n_t"]) - ratio(c["y_c"], c["n_c"])) * c["k"]
    return c["k"] / c["k"][-1], qini, uplift


def _area_over_random(fraction: np.ndarray, qini: np.ndarray) -> float:
    """Trapezoid area between the Qini curve and the straight line from (0, 0) to (1, qini[-1])."""
    gap = qini - fraction * qini[-1]
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(fraction)))


def _sorted_inputs(score: ArrayLike, treated: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, ...]:
    """Arm and outcome sorted by score (highest first) and the index of the last customer of each tie group."""
    s, t, y = np.asarray(score, dtype=float), np.asarray(treated).astype(float), np.asarray(y, dtype=float)
    if not len(s) == len(t) == len(y):
        raise ValueError(f"score, treated and y differ in length: {len(s)}, {len(t)}, {len(y)}")
    order = np.argsort(-s, kind="stable")
    s, t, y = s[order], t[order], y[order]
    # tied customers enter together: the curve has a point only where the score changes, as a ROC curve does
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    return t, y, ends


def qini_points(score: ArrayLike, treated: ArrayLike, y: ArrayLike) -> pd.DataFrame:
    """Exact Qini and uplift curve points after each group of customers with the same score (highest first).

    Parameters
    ----------
    score : array-like
        Predicted uplift per customer (higher = target first).
    treated : array-like
        True for treated customers, False for control.
    y : array-like
        Observed outcome per customer.

    Returns
    -------
    pandas.DataFrame
        targeted (count k), fraction (k / n), n_treated, n_control, y_treated, y_control (outcome sums among the
        top k), qini and uplift (see `qini_curve`), starting from a row of zeros.
    """
    t, yy, ends = _sorted_inputs(score, treated, y)
    c = _cumulative(t, yy, np.ones(len(t)), ends)
    fraction, qini, uplift = _curves(c)
    return pd.DataFrame({"targeted": c["k"].astype(int), "fraction": fraction, "n_treated": c["n_t"].astype(int),
                         "n_control": c["n_c"].astype(int), "y_treated": c["y_t"], "y_control": c["y_c"],
                         "qini": qini, "uplift": uplift})


def qini_coefficient(score: ArrayLike, treated: ArrayLike, y: ArrayLike) -> float:
    """Qini coefficient: area between the Qini curve and random targeting (see `qini_curve`), outcome counts."""
    points = qini_points(score, treated, y)
    return _area_over_random(points["fraction"].to_numpy(), points["qini"].to_numpy())


def qini_curve(
    score: ArrayLike, treated: ArrayLike, y: ArrayLike, *, n_boot: int = 200, seed: int = 0, label: str = ""
) -> QiniResult:
    """Qini and uplift curves of targeting customers in order of `score`, with 95% bootstrap bands.

    Customers are ranked by score, highest first. Among the top k, with N_T(k), N_C(k) treated and control
    customers and Y_T(k), Y_C(k) their summed outcomes:

    - Qini curve (Radcliffe 2007): Q(k) = Y_T(k) - Y_C(k) N_T(k) / N_C(k), the incremental outcomes among the
      treated top k, the control outcomes rescaled to the treated count (a ratio over an empty arm counts as 0);
    - uplift curve (Gutierrez and Gerardy 2017): U(k) = (Y_T(k) / N_T(k) - Y_C(k) / N_C(k)) k;
    - random targeting: the straight line from (0, 0) to (1, Q(n));
    - Qini coefficient: the area between the Qini curve and random targeting, with x = k / n the share targeted,
      by the trapezoid rule over the curve's points: sum_j (g_j + g_{j-1}) / 2 (x_j - x_{j-1}) with
      g_j = Q(k_j) - x_j Q(n). Positive when the ranking puts responders to treatment first; in outcome counts.

    Tied scores enter together (one point per tie group). The bands and the coefficient's CI are percentile
    intervals over `n_boot` bootstrap resamples of customers, the ranking held fixed (the model is not refitted:
    the uncertainty is that of evaluating a given ranking on this sample). Use customers the model did not see.

    Parameters
    ----------
    score : array-like
        Predicted uplift per customer.
    treated : array-like
        True for treated customers, False for control (randomised).
    y : array-like
        Observed outcome per customer.
    n_boot : int
        Bootstrap resamples for the bands and the coefficient's CI.
    seed : int
        Seed of the bootstrap.
    label : str
        Name of the ranking (e.g. the model), for legends.

    Returns
    -------
    QiniResult
        Curves on a grid of 101 shares targeted with bands, exact points, and the coefficient.

    References
    ----------
    Radcliffe, N. J. (2007). Using control groups to target on predicted lift: building and assessing uplift
    models. Direct Marketing Analytics Journal 1, 14-21.
    Gutierrez, P. and Gerardy, J.-Y. (2017). Causal inference and uplift modelling: a review of the literature.
    Proceedings of Machine Learning Research 67, 1-13.
    """
    t, yy, ends = _sorted_inputs(score, treated, y)
    fraction, qini, uplift = _curves(_cumulative(t, yy, np.ones(len(t)), ends))
    rng = np.random.default_rng(seed)
    boot_q, boot_u, boot_c = np.empty((n_boot, len(GRID))), np.empty((n_boot, len(GRID))), np.empty(n_boot)
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, len(t), len(t)), minlength=len(t)).astype(float)
        f, q, u = _curves(_cumulative(t, yy, w, ends))
        boot_q[b], boot_u[b] = np.interp(GRID, f, q), np.interp(GRID, f, u)
        boot_c[b] = _area_over_random(f, q)
    q_band, u_band, c_ci = (np.percentile(a, [2.5, 97.5], axis=0) for a in (boot_q, boot_u, boot_c))
    value = _area_over_random(fraction, qini)
    coefficient = Estimate(value, "", f"Qini coefficient{': ' + label if label else ''}", float(c_ci[0]),
                           float(c_ci[1]), n=len(t), note="area between Qini curve and random, outcome counts")
    return QiniResult(
        label, len(t), int(t.sum()), GRID.copy(), np.interp(GRID, fraction, qini), q_band[0], q_band[1],
        np.interp(GRID, fraction, uplift), u_band[0], u_band[1], coefficient, qini_points(score, treated, y),
    )
