"""Retention campaign targeting: whom to contact, and how large a budget pays back.

Expected profit of contacting customer i (Neslin et al. 2006, J. Marketing Research 43(2):204-211; the churn
profit frame of Verbraken, Verbeke & Baesens 2013, IEEE TKDE 25(5):961-973):
    pi_i = p_i u (V_i - delta) - (1 - p_i) delta - f
with p_i her churn risk, u the uplift (share of would-be churners the campaign keeps), V_i the value of keeping
her (residual CLV), delta the incentive taken by every contacted customer who stays (would-be stayers take it
too: the cost of targeting the wrong people), f the contact cost. Expected spend on her is
f + delta (p_i u + 1 - p_i). Customers are contacted in decreasing order of pi_i; the optimal budget contacts
every customer with pi_i > 0.

The uplift may differ by customer, u_i (from an uplift model fitted on a randomised campaign): p_i u_i is then
the reduction in her churn probability the contact brings, negative when the contact pushes her away (u_i < 0),
and the formulas hold with u_i for u. A contact cannot keep more than her would-be churn (u_i <= 1) nor push her
churn above 1 (u_i >= 1 - 1/p_i).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.stats.estimate import Estimate


@dataclass
class CampaignResult:
    """Profit curve of a retention campaign as the budget grows (currency), and its optimum."""

    curve: pd.DataFrame  # n_contacted, spend, expected_saved, expected_value, expected_profit, roi
    ranking: np.ndarray  # customer positions (into the inputs) in contact order
    profit: np.ndarray  # expected profit per customer, input order
    uplift: float | np.ndarray  # one share of would-be churners kept, or one per customer (input order)
    contact_cost: float
    incentive_cost: float
    currency: str
    notes: list[str] = field(default_factory=list)
    #: where a per-customer uplift came from, in words ("" for one assumed or measured uplift)
    uplift_source: str = ""

    @property
    def per_customer(self) -> bool:
        """Whether the uplift differs by customer."""
        return np.ndim(self.uplift) > 0

    @property
    def uplift_text(self) -> str:
        """'uplift 18%', or 'uplift per customer' when it differs by customer."""
        return "uplift per customer" if self.per_customer else f"uplift {self.uplift:.0%}"

    @property
    def optimum(self) -> pd.Series:
        """The row of `curve` with the highest expected profit."""
        return self.curve.loc[self.curve["expected_profit"].idxmax()]

    def at_budget(self, budget: float) -> pd.Series:
        """The row of `curve` for the most customers whose spend fits in `budget`."""
        fits = self.curve[self.curve["spend"] <= budget + 1e-9]
        return fits.iloc[-1]

    def summary(self) -> pd.DataFrame:
        """The curve at the optimum and at 25/50/100% of the customers."""
        n = len(self.ranking)
        picks = {"optimal budget": self.optimum.name, **{f"contact {q:.0%}": round(q * n) for q in (0.25, 0.5, 1.0)}}
        return pd.DataFrame({k: self.curve.loc[v] for k, v in picks.items()}).T

    def to_estimates(self) -> dict[str, Estimate]:
        """Optimal budget, its expected profit and ROI: point values at assumed inputs, so no CI (the notebook gives
        them at the ends of the assumed uplift's plausible range)."""
        best = self.optimum
        costs = f"contact {self.contact_cost:,.2f} and incentive {self.incentive_cost:,.2f}"
        assumption = (f"uplift per customer {self.uplift_source}; {costs} assumed" if self.per_customer else
                      f"rests on assumptions, not a measurement: uplift {self.uplift:.0%}, {costs}, all assumed")
        return {
            "campaign_optimal_budget": Estimate(float(best.spend), self.currency, "Optimal retention budget",
                                                n=int(best.n_contacted), note=assumption),
            "campaign_optimal_profit": Estimate(float(best.expected_profit), self.currency,
                                                "Expected profit of the optimal retention campaign", note=assumption),
            "campaign_optimal_roi": Estimate(100 * float(best.roi) if np.isfinite(best.roi) else 0.0, "%",
                                             "ROI of the optimal retention campaign (profit / spend)",
                                             note=assumption),
        }


def campaign_roi(
    risk: np.ndarray | pd.Series,
    value: np.ndarray | pd.Series,
    uplift: float | np.ndarray | pd.Series,
    contact_cost: float,
    incentive_cost: float = 0.0,
    currency: str = "currency",
) -> CampaignResult:
    """Expected profit and ROI of contacting the top-k customers ranked by expected profit, for k = 0..n.

    `risk`: churn probability within the horizon the campaign acts on (0-1); `value`: what keeping each customer
    is worth (currency, e.g. residual CLV); `uplift`: share of would-be churners the contact keeps (0-1,
    incremental, from a controlled test), one for everyone or one per customer; costs in currency per contacted
    customer (see the module docstring).

    Parameters
    ----------
    risk
        Churn probability per customer within the campaign's horizon (0-1).
    value
        What keeping each customer is worth (currency).
    uplift
        Share of would-be churners a contact keeps: one number (0-1), or one per customer (at most 1; negative
        for customers a contact pushes away), so that risk x uplift is the reduction in her churn probability.
        Per-customer values below 1 - 1/risk (churn above 1 once contacted) are raised to it, with a note.
    contact_cost, incentive_cost
        Currency per contacted customer.
    currency
        Label of the money amounts.

    Returns
    -------
    CampaignResult
        The profit curve by customers contacted and its optimum.
    """
    p = np.asarray(risk, float)
    v = np.asarray(value, float)
    if p.shape != v.shape:
        raise ValueError(f"risk and value differ in length ({len(p)}, {len(v)})")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("risk must be a probability in [0, 1] for every customer")
    notes = []
    u = _checked_uplift(uplift, p, notes)
    if np.isnan(v).any():
        notes.append(f"{int(np.isnan(v).sum())} customers without a value count as worth 0")
        v = np.nan_to_num(v)
    saved = p * u
    spend = contact_cost + incentive_cost * (saved + 1 - p)
    profit = saved * (v - incentive_cost) - (1 - p) * incentive_cost - contact_cost
    order = np.argsort(-profit, kind="stable")

    def cum(x: np.ndarray) -> np.ndarray:
        return np.r_[0.0, np.cumsum(x[order])]  # running totals in contact order, from nobody contacted

    curve = pd.DataFrame(
        {
            "n_contacted": np.arange(len(p) + 1),
            "spend": cum(spend),
            "expected_saved": cum(saved),
            "expected_value": cum(saved * v),
            "expected_profit": cum(profit),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        curve["roi"] = curve["expected_profit"] / curve["spend"]
    return CampaignResult(curve, order, profit, u, contact_cost, incentive_cost, currency, notes)


def _checked_uplift(uplift: float | np.ndarray | pd.Series, p: np.ndarray, notes: list[str]) -> float | np.ndarray:
    """One uplift in [0, 1], or one per customer at most 1 and raised to 1 - 1/p where it would take churn above 1
    (noted); ValueError otherwise."""
    if np.ndim(uplift) == 0:
        if not 0 <= uplift <= 1:
            raise ValueError("uplift must be in [0, 1]")
        return float(uplift)
    u = np.asarray(uplift, float)
    if u.shape != p.shape:
        raise ValueError(f"uplift per customer and risk differ in length ({len(u)}, {len(p)})")
    if np.isnan(u).any() or (u > 1).any():
        raise ValueError("uplift per customer must be at most 1 (all of her would-be churn) for every customer")
    with np.errstate(divide="ignore"):
        floor = np.where(p > 0, 1 - 1 / p, -np.inf)
    if (u < floor).any():
        notes.append(f"{int((u < floor).sum())} customers' uplift would take their churn above 1 once contacted; "
                     "it is set to push them to certain churn")
    return np.maximum(u, floor)


@dataclass
class CampaignComparison:
    """The same campaign with one save rate for everyone (`flat`) and with a save rate per customer (`each`), and
    their optimal expected profits (currency) over bootstrap resamples of the experiment that measured them
    (`flat_draws`, `each_draws`; empty without a bootstrap). `inside` counts the customers given their own save
    rate (the experiment's support, `rule`), the others keep the flat one; `boot_customers` those of them the
    refits were evaluated on when a random sample, its change of profit scaled up to all `inside` (None: all)."""

    flat: CampaignResult
    each: CampaignResult
    flat_draws: np.ndarray
    each_draws: np.ndarray
    inside: int
    rule: str
    boot_customers: int | None = None

    @property
    def outside(self) -> int:
        """Customers outside the experiment's support (they keep the flat save rate)."""
        return len(self.each.ranking) - self.inside

    def flat_at_each(self) -> float:
        """Expected profit of the flat campaign's contacts valued at the per-customer save rates (currency)."""
        n = int(self.flat.optimum.n_contacted)
        return float(self.each.profit[self.flat.ranking[:n]].sum())

    def boot_text(self) -> str:
        """'' when the refits were evaluated on every customer inside the support, else which sample they were."""
        if self.boot_customers is None:
            return ""
        return (f", its refits evaluated on a random {self.boot_customers:,} of the {self.inside:,} customers inside "
                "the support and scaled up to all of them")

    @staticmethod
    def corrected(value: float, draws: np.ndarray) -> tuple[float, float, float]:
        """`value` (an optimal campaign's model-expected profit, currency) less the bootstrap's estimate of its
        optimism, and a basic bootstrap 95% CI; `value` and NaN bounds without draws.

        The best campaign contacts those the model expects most from, so it partly picks the model's errors and
        expects more than it will earn; a refit on a resampled experiment does the same once more, so the refits'
        mean exceeds `value` by about that optimism (Efron & Tibshirani 1993, ch. 10): corrected = 2 value - mean,
        CI 2 value - the draws' 97.5th and 2.5th percentiles (a percentile CI sat above the estimate at 1M)."""
        if not len(draws):
            return value, float("nan"), float("nan")
        low, high = np.percentile(draws, [2.5, 97.5])
        return 2 * value - float(np.mean(draws)), 2 * value - float(high), 2 * value - float(low)

    def optimism(self) -> float:
        """How much more the refits of the per-customer campaign expect than its fit, on average (currency)."""
        return float(np.mean(self.each_draws)) - float(self.each.optimum.expected_profit)

    def summary(self) -> pd.DataFrame:
        """Contacts, spend, expected saved and the model's expected profit of both campaigns, that profit corrected
        for the model's optimism (`corrected`, with its 95% CI), and the flat campaign's contacts valued at the
        per-customer save rates."""
        rows = []
        for label, result, draws in (("one save rate", self.flat, self.flat_draws),
                                     ("save rate per customer", self.each, self.each_draws)):
            best = result.optimum
            corrected, low, high = self.corrected(float(best.expected_profit), draws)
            rows.append({"campaign": label, "contacted": int(best.n_contacted), "spend": float(best.spend),
                         "expected_saved": float(best.expected_saved), "expected_profit": float(best.expected_profit),
                         "corrected_profit": corrected, "ci_low": low, "ci_high": high})
        rows.append({"campaign": "one save rate's contacts at per-customer rates",
                     "contacted": int(self.flat.optimum.n_contacted), "expected_profit": self.flat_at_each()})
        return pd.DataFrame(rows)

    def to_estimates(self) -> dict[str, Estimate]:
        """Optimal profit at per-customer save rates and its gain over one save rate, corrected for the model's
        optimism (`corrected`), with basic bootstrap 95% CIs over the experiment (paired for the gain)."""
        each = float(self.each.optimum.expected_profit)
        note = (f"uplift per customer {self.each.uplift_source}; contact {self.each.contact_cost:,.2f} and incentive "
                f"{self.each.incentive_cost:,.2f} assumed; ")
        figures = {
            "campaign_per_customer_profit": (
                each, self.each_draws, "Expected profit of the optimal retention campaign at per-customer save rates"),
            "campaign_per_customer_gain": (
                each - float(self.flat.optimum.expected_profit), self.each_draws - self.flat_draws,
                "Expected profit of the optimal retention campaign: per-customer save rates minus one save rate"),
        }
        out = {}
        for key, (value, draws, label) in figures.items():
            corrected, low, high = self.corrected(value, draws)
            how = (f"the model expects {value:,.0f}, less its optimism (refits expect {np.mean(draws) - value:,.0f} "
                   f"more on average); CI: basic bootstrap over the experiment{self.boot_text()}" if len(draws)
                   else "no bootstrap: the model's own expectation, not corrected for its optimism")
            out[key] = Estimate(corrected, self.each.currency, label, *((low, high) if len(draws) else (None, None)),
                                n=int(self.each.optimum.n_contacted), note=note + how)
        return out

    def _repr_html_(self) -> str:
        return (f"<b>One save rate vs a save rate per customer</b> ({self.inside:,} customers inside the "
                f"experiment's support)" + self.summary().to_html(index=False))
