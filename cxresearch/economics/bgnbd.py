"""Non-contractual repeat purchasing: the BG/NBD model of Fader, Hardie & Lee (2005).

While alive, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase she
drops out for good with probability p ~ Beta(a, b). From (frequency x, recency t_x, age T) per customer:
    L = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x))
        + 1[x > 0] B(a + 1, b + x - 1) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + t_x)^(r + x)).
Reference: Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an alternative to the Pareto/NBD
model", Marketing Science 24(2):275-284 (eqs. 6, 9, 10, 11 for the likelihood, E[X(t)], the conditional
expectation and P(alive)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from cxresearch.errors import NotEstimableError
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.mle import fit_log_params, parameter_table, require_identified
from cxresearch.stats.tables import TableSummary
from cxresearch.survival.display import summary_html

PARAMS = ("r", "alpha", "a", "b")
#: Fewest customers with a repeat purchase that BG/NBD (and Gamma-Gamma) are fitted on: below it the drop-out
#: and spend distributions rest on a handful of people.
MIN_REPEAT_BUYERS = 10


@dataclass
class BGNBDResult:
    """A fitted BG/NBD model; time in the unit of recency and T (weeks for the CDNOW summaries)."""

    params: dict[str, float]
    covariance: np.ndarray
    log_likelihood: float
    n: int
    notes: list[str] = field(default_factory=list)

    def p_alive(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(still alive at T | x, t_x, T) = 1 / (1 + 1[x > 0] a / (b + x - 1) ((alpha + T)/(alpha + t_x))^(r + x))."""
        x, tx, T = (np.asarray(v, float) for v in (frequency, recency, T))
        r, alpha, a, b = (self.params[k] for k in PARAMS)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: np.ndarray | float) -> np.ndarray:
        """E[X(t)]: expected purchases of a new customer in (0, t] after her first (eq. 9)."""
        t = np.asarray(t, float)
        r, alpha, a, b = (self.params[k] for k in PARAMS)
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)

    def conditional_expected_purchases(
        self, t: float | np.ndarray, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next t time units of a customer with that history (eq. 10)."""
        return self.expected_purchases_if_alive(t, frequency, T) * self.p_alive(frequency, recency, T)

    def expected_purchases_if_alive(
        self, t: float | np.ndarray, frequency: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[Y(t) | x, T, alive at T]: eq. 10 without its P(alive) factor (depends on frequency and age only)."""
        x, T, t = (np.asarray(v, float) for v in (frequency, T, t))
        r, alpha, a, b = (self.params[k] for k in PARAMS)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        return (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)

    def summary(self) -> pd.DataFrame:
        """r, alpha, a, b with standard errors and 95% CIs (log-scale Wald); the log-likelihood in attrs."""
        return parameter_table(PARAMS, tuple(self.params[n] for n in PARAMS), self.covariance, self.log_likelihood)

    def to_estimates(self, prefix: str = "bgnbd") -> dict[str, Estimate]:
        """The four parameters as estimates keyed `<prefix>_<name>`."""
        return {
            f"{prefix}_{name}": Estimate(float(row.estimate), "", f"BG/NBD {name}", float(row.ci_low),
                                         float(row.ci_high), n=self.n, note="Fader, Hardie & Lee (2005)")
            for name, row in self.summary().iterrows()
        }


def fit_bgnbd(
    frequency: Sequence[float] | np.ndarray | pd.Series,
    recency: Sequence[float] | np.ndarray | pd.Series,
    T: Sequence[float] | np.ndarray | pd.Series,
    start: tuple[float, float, float, float] = (1.0, 3.0, 1.0, 3.0),
) -> BGNBDResult:
    """Fit BG/NBD by maximum likelihood to repeat frequency, recency and age (same time unit for both).

    Raises `NotEstimableError` with fewer than `MIN_REPEAT_BUYERS` repeat buyers or when the fit runs to a
    boundary (`_mle.require_identified`; alpha, in time units, is exempt from the magnitude check).

    Parameters
    ----------
    frequency, recency, T
        Per customer: repeat purchases, time of the last purchase and age at the calibration end (time units).
    start
        Starting values of (r, alpha, a, b).

    Returns
    -------
    BGNBDResult
        r, alpha, a, b with their covariance and the log-likelihood.

    References
    ----------
    Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2):275-284.
    """
    x, tx, T = (np.asarray(v, float) for v in (frequency, recency, T))
    _check_rfm(x, tx, T)
    repeat = x > 0
    if repeat.sum() < MIN_REPEAT_BUYERS:
        raise NotEstimableError(f"{customers_text(int(repeat.sum()))} bought more than once in the calibration period "
                                f"(BG/NBD needs at least {MIN_REPEAT_BUYERS})", needs="purchase records")

    def log_likelihood(params: np.ndarray) -> float:
        r, alpha, a, b = params
        common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        first = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
        second = np.full_like(x, -np.inf)
        second[repeat] = (special.betaln(a + 1, b + x[repeat] - 1) - special.betaln(a, b)
                          - (r + x[repeat]) * np.log(alpha + tx[repeat]))
        return float(np.sum(common + np.logaddexp(first, second)))

    params, cov, ll, converged = fit_log_params(log_likelihood, np.array(start))
    require_identified("BG/NBD", PARAMS, params, cov, converged, unit_dependent=("alpha",))
    return BGNBDResult(dict(zip(PARAMS, map(float, params))), cov, ll, len(x))


def customers_text(n: int) -> str:
    """'only 1 customer', 'only 4 customers', 'no customer'.

    Parameters
    ----------
    n
        Customers.

    Returns
    -------
    str
        The count in words.
    """
    return "no customer" if n == 0 else f"only {n} customer" + ("s" if n > 1 else "")


def _check_rfm(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> None:
    """Say which input is wrong: lengths, negatives, recency beyond T, recency without repeat purchases."""
    if not len(x) == len(tx) == len(T):
        raise ValueError(f"frequency, recency and T differ in length ({len(x)}, {len(tx)}, {len(T)})")
    for name, v in (("frequency", x), ("recency", tx), ("T", T)):
        if np.isnan(v).any() or (v < 0).any():
            raise ValueError(f"{name} must be non-negative and not missing")
    if (tx > T + 1e-9).any():
        raise ValueError(f"recency exceeds T for {int((tx > T + 1e-9).sum())} customers")
    if ((x == 0) & (tx > 0)).any():
        raise ValueError("customers with no repeat purchase must have recency 0")


@dataclass
class TrackingResult:
    """Actual vs BG/NBD-expected repeat purchases of a cohort per period, calibration then holdout.

    `periods`: one row per period (weeks by default) with end_date, actual, expected, actual_cumulative,
    expected_cumulative and holdout (True after the calibration end); counts are repeat purchase days.
    """

    periods: pd.DataFrame
    calibration_end: pd.Timestamp
    calibration_periods: float
    period_days: float
    n_customers: int

    def totals(self) -> pd.DataFrame:
        """Actual and expected repeat purchases in the calibration and the holdout period, with the % error."""
        rows = []
        for name, part in self.periods.groupby("holdout"):
            actual, expected = float(part["actual"].sum()), float(part["expected"].sum())
            rows.append({"period": "holdout" if name else "calibration", "actual": actual, "expected": expected,
                         "error_pct": 100 * (expected - actual) / actual if actual else float("nan")})
        return pd.DataFrame(rows).set_index("period")

    def summary(self) -> pd.DataFrame:
        """`totals()`: the aggregate check of Fader, Hardie & Lee (2005), Figure 3."""
        return self.totals()

    def to_estimates(self, prefix: str = "bgnbd_holdout") -> dict[str, Estimate]:
        """Holdout repeat purchases, actual and expected, and the forecast error in %."""
        totals = self.totals()
        if "holdout" not in totals.index:
            return {}
        row = totals.loc["holdout"]
        note = f"{self.n_customers:,} customers; repeat purchase days after {self.calibration_end.date()}"
        return {
            f"{prefix}_actual": Estimate(row.actual, "count", "Repeat purchases in the holdout (actual)",
                                         n=self.n_customers, note=note),
            f"{prefix}_expected": Estimate(row.expected, "count", "Repeat purchases in the holdout (BG/NBD forecast)",
                                           n=self.n_customers, note=note),
            f"{prefix}_error_pct": self.holdout_error(),
        }

    def holdout_error(self) -> Estimate:
        """Holdout forecast error, (expected - actual) / actual in %; not estimable without holdout purchases."""
        totals = self.totals()
        label = "Holdout forecast error of BG/NBD"
        if "holdout" not in totals.index or not totals.loc["holdout", "actual"]:
            return Estimate.not_estimable("%", label, "no repeat purchase in the holdout")
        return Estimate(float(totals.loc["holdout", "error_pct"]), "%", label, n=self.n_customers,
                        note="(expected - actual) / actual")

    def finding(self) -> str:
        """The holdout check in one sentence: forecast vs actual repeat purchases and the error."""
        row = self.totals().loc["holdout"]
        error = self.holdout_error()
        gap = f" ({error.value:+.1f}%)" if error.estimable else ""
        return (f"BG/NBD forecast {row.expected:,.0f} repeat purchases in the holdout to "
                f"{self.periods['end_date'].max().date()}; {row.actual:,.0f} happened{gap}.")


def expected_cumulative_repeat(bgnbd: BGNBDResult, T: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Expected cumulative repeat purchases of a cohort at times `offsets` relative to the calibration end.

    Customer i has age T_i at the calibration end, so at offset s she has been a customer for T_i + s time units
    and contributes E[X(T_i + s)] (zero before her first purchase); customers are grouped by their age, i.e.
    their first-purchase day, as in Fader, Hardie & Lee (2005, section 4).

    Parameters
    ----------
    bgnbd
        The fit.
    T
        Per customer: age at the calibration end (time units).
    offsets
        Times relative to the calibration end (time units).

    Returns
    -------
    numpy.ndarray
        Expected cumulative repeat purchases of the cohort at each offset.
    """
    ages, counts = np.unique(np.asarray(T, float), return_counts=True)
    t = ages[:, None] + np.asarray(offsets, float)[None, :]
    expected = np.where(t > 0, bgnbd.expected_purchases(np.clip(t, 0.0, None)), 0.0)
    return counts @ expected


def track_repeat_purchases(
    bgnbd: BGNBDResult,
    rfm: pd.DataFrame,
    transactions: pd.DataFrame,
    holdout_end: str | pd.Timestamp,
    customer: str = "customer_id",
    date: str = "date",
) -> TrackingResult:
    """Weekly (the rfm time unit) actual vs expected repeat purchases of the `rfm` customers up to `holdout_end`.

    `rfm` comes from `transactions.rfm_summary` (it carries the calibration end and time unit); periods start at the
    cohort's first purchase day. Customers who first bought after the calibration end are left out of both series.

    Parameters
    ----------
    bgnbd
        The fit on the calibration period.
    rfm
        Per customer summary (`transactions.rfm_summary`).
    transactions
        The purchase log.
    holdout_end
        Last day tracked.
    customer, date
        Columns of the purchase log.

    Returns
    -------
    TrackingResult
        Actual and expected repeat purchases per period, cumulative too.
    """
    from cxresearch.data.transactions import weekly_repeat_purchases

    calibration_end = pd.Timestamp(rfm.attrs["calibration_end"])
    period_days = float(rfm.attrs.get("time_unit_days", 7.0))
    start = pd.Timestamp(rfm["first_purchase"].min())
    holdout_end = pd.Timestamp(holdout_end)
    n_periods = int(np.ceil(((holdout_end - start).days + 1) / period_days))
    cohort = transactions[transactions[customer].isin(rfm.index)]
    actual_cum = weekly_repeat_purchases(cohort, start, n_periods, customer, date, period_days)
    # purchase days are points at the start of each day (as recency and T are): period k ends on day k * days - 1
    ends = start + pd.to_timedelta(np.arange(1, n_periods + 1) * period_days - 1, unit="D")
    offsets = ((ends - calibration_end) / pd.Timedelta(days=period_days)).to_numpy(float)
    expected_cum = expected_cumulative_repeat(bgnbd, rfm["T"].to_numpy(float), offsets)
    periods = pd.DataFrame({
        "period": np.arange(1, n_periods + 1), "end_date": ends,
        "actual": np.diff(actual_cum, prepend=0), "expected": np.diff(expected_cum, prepend=0.0),
        "actual_cumulative": actual_cum, "expected_cumulative": expected_cum, "holdout": ends > calibration_end,
    })
    calibration_periods = ((calibration_end - start).days + 1) / period_days
    return TrackingResult(periods, calibration_end, calibration_periods, period_days, len(rfm))


@dataclass
class HoldoutByFrequency(TableSummary):
    """Mean holdout purchases per customer, actual vs BG/NBD conditional expectation, by calibration repeat
    purchases (Fader, Hardie & Lee 2005, Figure 5).

    `table` (`summary()`), per bin of calibration repeat purchases: customers, actual and expected mean holdout purchases.
    """

    table: pd.DataFrame  # index calibration_repeat_purchases (0..max_frequency); n, actual, expected
    max_frequency: int  # the last bin collects this many repeat purchases and more

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), "Holdout purchases per customer by calibration repeat purchases",
                            digits=2)


def holdout_by_frequency(bgnbd: BGNBDResult, rfm: pd.DataFrame, max_frequency: int = 7) -> HoldoutByFrequency:
    """Mean holdout purchases per customer, actual vs conditional expectation, by calibration repeat purchases.

    Parameters
    ----------
    bgnbd
        The BG/NBD fit on the calibration period.
    rfm
        Per customer: frequency, recency, T, holdout_frequency and holdout_length (`data.transactions.rfm_summary`
        with a holdout end).
    max_frequency
        The last bin collects `max_frequency` repeat purchases and more.

    Returns
    -------
    HoldoutByFrequency
        Bins 0..`max_frequency` with n, actual, expected (purchases per customer in the holdout).

    References
    ----------
    Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2), Figure 5.
    """
    expected = bgnbd.conditional_expected_purchases(rfm["holdout_length"].to_numpy(float), rfm["frequency"],
                                                    rfm["recency"], rfm["T"])
    bins = rfm["frequency"].clip(upper=max_frequency).astype(int).to_numpy()
    table = pd.DataFrame({"bin": bins, "actual": rfm["holdout_frequency"].to_numpy(float), "expected": expected})
    out = table.groupby("bin").agg(n=("actual", "size"), actual=("actual", "mean"), expected=("expected", "mean"))
    out.index.name = "calibration_repeat_purchases"
    return HoldoutByFrequency(out, max_frequency)
