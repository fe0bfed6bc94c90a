"""Lifetime value of non-contractual customers: BG/NBD purchases x Gamma-Gamma spend x margin, discounted monthly.

For a customer with history (x, t_x, T) and mean repeat spend m,
    CLV = margin * E[spend | x, m] * sum_{k=1..H} (E[Y(k u)] - E[Y((k - 1) u)]) / (1 + d)^k,
where E[Y(t)] is BG/NBD's conditional expectation of her purchases in the next t time units (Fader, Hardie & Lee
2005, Marketing Science 24(2), eq. 10), u the model time units in a month, d the monthly discount rate and H the
horizon in months: the discounted expected residual transactions (DERT) of Fader, Hardie & Lee (2005, "RFM and
CLV: using iso-value curves", J. Marketing Research 42(4)), over a finite horizon and discounted at month ends,
times the Gamma-Gamma expected spend per purchase (which assumes spend independent of purchase frequency).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.economics.bgnbd import PARAMS as BGNBD_PARAMS
from cxresearch.economics.bgnbd import BGNBDResult
from cxresearch.economics.gamma_gamma import PARAMS as GG_PARAMS
from cxresearch.economics.gamma_gamma import GammaGammaResult
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.units import DAYS_PER_MONTH


@dataclass
class BTYDCLVResult:
    """Per-customer residual value from BG/NBD + Gamma-Gamma (currency), with parameter-uncertainty draws.

    `customers`: p_alive, expected_transactions (undiscounted, over the horizon), discounted_transactions (DERT
    over the horizon), expected_spend (per purchase) and clv, one row per customer. `mean_draws`: mean CLV per
    customer under each draw of the model parameters from their estimated sampling distribution.
    """

    customers: pd.DataFrame
    mean_draws: np.ndarray
    margin: float
    monthly_discount_rate: float
    horizon_months: int
    currency: str = "currency"
    notes: list[str] = field(default_factory=list)

    @property
    def mean(self) -> Estimate:
        """Mean residual CLV per customer, 95% interval from the parameter draws."""
        low, high = _interval(self.mean_draws)
        return Estimate(float(self.customers["clv"].mean()), self.currency, "Residual CLV per customer (BG/NBD x "
                        "Gamma-Gamma)", low, high, n=len(self.customers), note=self._note())

    @property
    def total(self) -> Estimate:
        """Residual CLV of the whole customer base."""
        n = len(self.customers)
        low, high = _interval(self.mean_draws * n)
        return Estimate(float(self.customers["clv"].sum()), self.currency, "Residual CLV of the customer base",
                        low, high, n=n, note=self._note())

    @property
    def top_decile_share(self) -> float:
        """Share (%) of the total residual CLV held by the most valuable 10% of customers."""
        values = np.sort(self.customers["clv"].to_numpy())[::-1]
        top = int(np.ceil(0.1 * len(values)))
        return float(100 * values[:top].sum() / values.sum()) if values.sum() > 0 else float("nan")

    def distribution(self, quantiles: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)) -> pd.DataFrame:
        """Quantiles of per-customer CLV (currency), expected and discounted purchases."""
        cols = ["clv", "discounted_transactions", "expected_transactions"]
        table = self.customers[cols].quantile(list(quantiles))
        table.index = [f"p{round(100 * q)}" for q in quantiles]
        return table

    def summary(self) -> pd.DataFrame:
        """Mean and total CLV with 95% intervals, median, top-decile share, mean purchases and spend."""
        c = self.customers
        rows = [(f"mean CLV ({self.currency})", self.mean), (f"total CLV ({self.currency})", self.total)]
        table = pd.DataFrame([{"quantity": k, "value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high}
                              for k, e in rows])
        extra = pd.DataFrame({"quantity": [f"median CLV ({self.currency})", "top-decile share of CLV (%)",
                                           "mean expected purchases", "mean discounted purchases",
                                           f"mean spend per purchase ({self.currency})"],
                              "value": [c["clv"].median(), self.top_decile_share, c["expected_transactions"].mean(),
                                        c["discounted_transactions"].mean(), c["expected_spend"].mean()]})
        return pd.concat([table, extra], ignore_index=True).set_index("quantity")

    def to_estimates(self, prefix: str = "btyd") -> dict[str, Estimate]:
        """Mean and total CLV, top-decile share and mean expected purchases over the horizon."""
        n = len(self.customers)
        return {
            f"{prefix}_clv_per_customer": self.mean,
            f"{prefix}_clv_total": self.total,
            f"{prefix}_clv_top_decile_share": self._top_decile_estimate(),
            f"{prefix}_expected_purchases": Estimate(float(self.customers["expected_transactions"].mean()), "count",
                                                     f"Expected purchases per customer in {self.horizon_months} "
                                                     "months", n=n, note="BG/NBD conditional expectation"),
        }

    def finding(self) -> str:
        """Mean residual value per customer over the horizon and, when there is value, the top decile's share."""
        text = (f"A purchasing customer is worth {self.mean.format(2)} in margin over the next "
                f"{self.horizon_months} months")
        share = self._top_decile_estimate()
        return text + (f"; the top 10% hold {share.value:.0f}% of the value." if share.estimable else ".")

    def _top_decile_estimate(self) -> Estimate:
        label = "Share of residual CLV held by the top 10% of customers"
        if not self.customers["clv"].sum() > 0:
            return Estimate.not_estimable("%", label, "the customers hold no residual value")
        return Estimate(self.top_decile_share, "%", label, n=len(self.customers))

    def _note(self) -> str:
        return (f"{self.horizon_months} months, {self.monthly_discount_rate:.2%}/month discount, margin "
                f"{self.margin:.0%}; interval: parameter uncertainty only")


def discounted_expected_transactions(
    bgnbd: BGNBDResult,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    monthly_discount_rate: float,
    horizon_months: int,
    units_per_month: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(expected purchases over the horizon, the same discounted at each month's end) per customer.

    Parameters
    ----------
    bgnbd
        The BG/NBD fit.
    frequency, recency, T
        Per customer history (model time units).
    monthly_discount_rate
        Discount rate per month.
    horizon_months
        Months ahead.
    units_per_month
        Model time units per month.

    Returns
    -------
    tuple of numpy.ndarray
        Expected purchases over the horizon and their discounted sum, per customer.
    """
    x, tx, T = (np.asarray(v, float) for v in (frequency, recency, T))
    pairs, inverse = _distinct_pairs(x, T)
    per_pair = _pair_values(bgnbd, pairs, monthly_discount_rate, horizon_months, units_per_month)[inverse]
    alive = bgnbd.p_alive(x, tx, T)
    return per_pair[:, 0] * alive, per_pair[:, 1] * alive


def _distinct_pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (frequency, age) rows and each customer's row: E[Y(t) | alive] depends on these two only."""
    pairs, inverse = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
    return pairs, inverse.ravel()


def _pair_values(bgnbd: BGNBDResult, pairs: np.ndarray, monthly_discount_rate: float, horizon_months: int,
                 units_per_month: float) -> np.ndarray:
    """Per (x, T) row: expected purchases over the horizon and their monthly-discounted sum, if alive."""
    times = units_per_month * np.arange(horizon_months + 1)
    path = bgnbd.expected_purchases_if_alive(times[None, :], pairs[:, :1], pairs[:, 1:])
    discount = (1 + monthly_discount_rate) ** -np.arange(1, horizon_months + 1)
    return np.column_stack([path[:, -1], np.diff(path, axis=1) @ discount])


def btyd_clv(
    bgnbd: BGNBDResult,
    spend: GammaGammaResult,
    rfm: pd.DataFrame,
    margin: float,
    monthly_discount_rate: float,
    horizon_months: int,
    currency: str = "currency",
    n_draws: int = 100,
    seed: int = 0,
) -> BTYDCLVResult:
    """Residual CLV of each `rfm` customer (`transactions.rfm_summary`: frequency, recency, T, monetary_value).

    `margin`: share of spend that is profit (0-1); the model time unit is read from rfm.attrs (weeks by default).
    The interval redraws BG/NBD and Gamma-Gamma parameters from their log-scale normal approximations
    (`n_draws` times; 0 = no interval); it leaves out the randomness of the customers' future purchases.

    Parameters
    ----------
    bgnbd, spend
        The BG/NBD and Gamma-Gamma fits.
    rfm
        Per customer summary.
    margin
        Share of spend that is profit (0-1).
    monthly_discount_rate, horizon_months
        Discount rate per month and months ahead.
    currency
        Label of the money amounts.
    n_draws, seed
        Parameter draws for the interval and their seed.

    Returns
    -------
    BTYDCLVResult
        Residual CLV per customer (currency), their mean with its interval and the concentration of value.

    References
    ----------
    Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis", Journal of
    Marketing Research 42(4):415-430.
    """
    if not 0 <= margin <= 1:
        raise ValueError(f"margin must be a share between 0 and 1, got {margin}")
    if horizon_months < 1 or monthly_discount_rate < 0:
        raise ValueError("horizon_months must be >= 1 and monthly_discount_rate >= 0")
    units_per_month = DAYS_PER_MONTH / float(rfm.attrs.get("time_unit_days", 7.0))
    args = (rfm["frequency"].to_numpy(float), rfm["recency"].to_numpy(float), rfm["T"].to_numpy(float))
    expected, discounted = discounted_expected_transactions(bgnbd, *args, monthly_discount_rate, horizon_months,
                                                            units_per_month)
    money = spend.conditional_expected_spend(rfm["frequency"], rfm["monetary_value"])
    customers = pd.DataFrame({"p_alive": bgnbd.p_alive(*args), "expected_transactions": expected,
                              "discounted_transactions": discounted, "expected_spend": money,
                              "clv": margin * money * discounted}, index=rfm.index)
    pairs, inverse = _distinct_pairs(args[0], args[2])
    rng = np.random.default_rng(seed)
    draws = np.empty(n_draws)
    for i in range(n_draws):
        bg = BGNBDResult(_draw(bgnbd.params, bgnbd.covariance, BGNBD_PARAMS, rng), bgnbd.covariance, np.nan, bgnbd.n)
        gg = GammaGammaResult(_draw(spend.params, spend.covariance, GG_PARAMS, rng), spend.covariance, np.nan,
                              spend.n, spend.frequency_spend_correlation)
        disc = _pair_values(bg, pairs, monthly_discount_rate, horizon_months, units_per_month)[inverse, 1]
        draws[i] = np.mean(margin * gg.conditional_expected_spend(args[0], rfm["monetary_value"]) * disc
                           * bg.p_alive(*args))
    notes = [] if np.isfinite(draws).all() else ["some parameter draws gave no finite CLV (e.g. Gamma-Gamma q <= 1)"]
    return BTYDCLVResult(customers, draws[np.isfinite(draws)], margin, monthly_discount_rate, horizon_months,
                         currency, notes)


def _draw(params: dict[str, float], covariance: np.ndarray, names: tuple[str, ...],
          rng: np.random.Generator) -> dict[str, float]:
    """One parameter draw from the log-scale normal approximation (the scale the fit was made on)."""
    values = np.array([params[k] for k in names])
    cov_log = covariance / np.outer(values, values)
    if not np.all(np.isfinite(cov_log)):
        return dict(params)
    return dict(zip(names, map(float, np.exp(rng.multivariate_normal(np.log(values), cov_log)))))


def _interval(draws: np.ndarray) -> tuple[float | None, float | None]:
    """2.5% and 97.5% percentiles of `draws`, or no interval when there are fewer than 20 of them."""
    if len(draws) < 20:
        return None, None
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)
