"""Spend per transaction: the Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves
for customer base analysis", J. Marketing Research 42(4):415-430; Fader & Hardie 2013, "The Gamma-Gamma model of
monetary value", http://brucehardie.com/notes/025/).

A customer's transactions are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, so her mean spend over x
transactions, m, has density
    f(m | x) = Gamma(p x + q) / (Gamma(p x) Gamma(q)) * gamma^q m^(p x - 1) x^(p x) / (gamma + m x)^(p x + q)
and E[spend | m, x] = (gamma + m x) p / (p x + q - 1): a weighted mean of the population mean p gamma / (q - 1)
and her own mean. The model assumes spend is independent of purchase frequency: check it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from cxresearch.economics.bgnbd import MIN_REPEAT_BUYERS, customers_text
from cxresearch.errors import NotEstimableError
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.mle import fit_log_params, parameter_table, require_identified

PARAMS = ("p", "q", "gamma")


@dataclass
class GammaGammaResult:
    """A fitted Gamma-Gamma spend model (spend in the data's currency)."""

    params: dict[str, float]
    covariance: np.ndarray
    log_likelihood: float
    n: int
    frequency_spend_correlation: float
    notes: list[str] = field(default_factory=list)

    @property
    def mean_spend(self) -> float:
        """Population mean spend per transaction, p gamma / (q - 1) (infinite if q <= 1)."""
        p, q, g = (self.params[k] for k in PARAMS)
        return p * g / (q - 1) if q > 1 else float("inf")

    def conditional_expected_spend(self, frequency: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
        """E[spend per transaction | x, m] = (gamma + m x) p / (p x + q - 1); the population mean when x = 0."""
        x = np.asarray(frequency, float)
        m = np.nan_to_num(np.asarray(monetary_value, float))
        p, q, g = (self.params[k] for k in PARAMS)
        return (g + m * x) * p / (p * x + q - 1)

    def summary(self) -> pd.DataFrame:
        """p, q, gamma with standard errors and 95% CIs (log-scale Wald); the log-likelihood in attrs."""
        return parameter_table(PARAMS, tuple(self.params[n] for n in PARAMS), self.covariance, self.log_likelihood)

    def to_estimates(self, prefix: str = "gamma_gamma", currency: str = "currency") -> dict[str, Estimate]:
        """The parameters and the population mean spend per transaction."""
        out = {
            f"{prefix}_{name}": Estimate(float(row.estimate), "", f"Gamma-Gamma {name}", float(row.ci_low),
                                         float(row.ci_high), n=self.n, note="Fader, Hardie & Lee (2005)")
            for name, row in self.summary().iterrows()
        }
        out[f"{prefix}_mean_spend"] = Estimate(self.mean_spend, currency, "Mean spend per transaction (model)",
                                               n=self.n, note="p gamma / (q - 1)")
        return out


def fit_gamma_gamma(
    frequency: Sequence[float] | np.ndarray | pd.Series,
    monetary_value: Sequence[float] | np.ndarray | pd.Series,
    start: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> GammaGammaResult:
    """Fit Gamma-Gamma by maximum likelihood on customers with frequency > 0 and positive mean spend per transaction.

    `monetary_value` should average the same transactions that `frequency` counts (repeat purchases, as in
    `transactions.rfm_summary`). Customers without repeat purchases carry no spend information and are left out.
    Raises `NotEstimableError` with fewer than `MIN_REPEAT_BUYERS` such customers, when they all spend alike (no
    spread to fit), or when the fit runs to a boundary (gamma, in money units, is exempt from the magnitude check).

    Parameters
    ----------
    frequency
        Repeat purchases per customer.
    monetary_value
        Mean spend per repeat purchase (currency).
    start
        Starting values of (p, q, gamma).

    Returns
    -------
    GammaGammaResult
        p, q, gamma with their covariance and the customers fitted on.

    References
    ----------
    Fader, Hardie & Lee (2005), "RFM and CLV", Journal of Marketing Research 42(4):415-430; Fader & Hardie (2013),
    "The Gamma-Gamma model of monetary value".
    """
    x_all = np.asarray(frequency, float)
    m_all = np.asarray(monetary_value, float)
    if len(x_all) != len(m_all):
        raise ValueError(f"frequency and monetary_value differ in length ({len(x_all)}, {len(m_all)})")
    repeat = x_all > 0
    # the gamma density needs positive spend: repeat buyers whose purchases were all free (or unrecorded) carry no
    # usable spend information, like customers without repeat purchases
    keep = repeat & (np.nan_to_num(m_all) > 0)
    x, m = x_all[keep], m_all[keep]
    if len(x) < MIN_REPEAT_BUYERS:
        raise NotEstimableError(f"{customers_text(len(x))} with repeat purchases and positive spend (Gamma-Gamma needs "
                                f"at least {MIN_REPEAT_BUYERS})", needs="purchase records")
    if np.ptp(m) <= 1e-9 * m.max():
        raise NotEstimableError("every repeat buyer has the same mean spend, so there is no spread across "
                                "customers for Gamma-Gamma to model")

    def log_likelihood(params: np.ndarray) -> float:
        p, q, g = params
        px = p * x
        return float(np.sum(
            special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x)
        ))

    params, cov, ll, converged = fit_log_params(log_likelihood, np.array(start))
    require_identified("Gamma-Gamma", PARAMS, params, cov, converged, unit_dependent=("gamma",))
    corr = float(np.corrcoef(x, m)[0, 1]) if len(x) > 2 else float("nan")
    notes = [f"{int((~repeat).sum())} customers without repeat purchases left out (no spend information)"]
    if (repeat & ~keep).any():
        notes.append(f"{int((repeat & ~keep).sum())} repeat buyers without positive spend left out of the fit")
    if abs(corr) > 0.3:
        notes.append(f"frequency and spend correlate ({corr:.2f}): the model's independence assumption is doubtful")
    return GammaGammaResult(dict(zip(PARAMS, map(float, params))), cov, ll, len(x), corr, notes)
