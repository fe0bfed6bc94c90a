"""Valuing monthly churn hazards over a window of person-months: churn probabilities and discounted margin.

Shared by the estimate (`economics.value_at_stake`, hazards from the fitted model) and the known truth
(`truth.value_at_stake`, hazards from the simulator's parameters), so both value the same person-months the same
way. Hazards enter on the cloglog scale: -log(1 - h) = exp(eta). Money is in the data's currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from cxresearch.economics.clv import geometric_clv


@dataclass
class WindowRows:
    """The person-months of the valuation window (sorted by customer, then month) and what values them."""

    customer: np.ndarray  # per row: index of its customer among the window's customers (0 .. n - 1)
    step: np.ndarray  # per row: month of the window, 1 .. window_months
    margin: np.ndarray  # per window customer: monthly margin (currency per month; NaN when unknown)
    ids: np.ndarray  # per window customer: customer_id
    window_months: int
    horizon_months: int  # margin is counted up to this many months after the window began
    monthly_discount_rate: float

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, margin: pd.Series, window_months: int, horizon_months: int,
                   monthly_discount_rate: float) -> WindowRows:
        """From window person-months (`customer_id`, `month`, sorted) and margins indexed by customer_id."""
        codes, ids = pd.factorize(frame["customer_id"], sort=False)
        step = frame["month"].to_numpy(int) - int(frame["month"].max()) + window_months
        return cls(customer=codes, step=step, margin=margin.reindex(ids).to_numpy(float), ids=np.asarray(ids),
                   window_months=window_months, horizon_months=horizon_months,
                   monthly_discount_rate=monthly_discount_rate)

    @property
    def n_customers(self) -> int:
        """Customers with at least one person-month in the window."""
        return len(self.ids)

    def first_rows(self) -> np.ndarray:
        """Per window customer: the index of her first person-month in the window."""
        return self._bounds[0]

    def last_rows(self) -> np.ndarray:
        """Per window customer: the index of its last person-month in the window."""
        return self._bounds[1]

    @cached_property
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Each customer's first and last row (computed once: every valuation reuses them)."""
        if not len(self.customer):
            return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
        change = np.flatnonzero(self.customer[1:] != self.customer[:-1])
        return np.r_[0, change + 1], np.r_[change, len(self.customer) - 1]

    @cached_property
    def discount(self) -> np.ndarray:
        """Per row: the discount factor (1 + d)^-step of its window month."""
        return (1.0 + self.monthly_discount_rate) ** -self.step.astype(float)


@dataclass
class CustomerValues:
    """Per window customer: probability of churning within her window months, and expected discounted margin."""

    churn: np.ndarray  # probability 0-1
    margin: np.ndarray  # currency: in the window plus beyond it up to the horizon


def value_hazards(rows: WindowRows, eta: np.ndarray, retention: float) -> CustomerValues:
    """Churn probability 1 - prod(1 - h) over each customer's window months, and her expected margin.

    Margin: m S_j / (1 + d)^j for every window month j she survives (S_j = prod_{k<=j} (1 - h_k), the timing of
    `economics.clv`), plus, from her last window month J on, S_J / (1 + d)^J times the value of a customer kept
    each month with probability `retention` up to the horizon (`economics.clv.geometric_clv`).

    Parameters
    ----------
    rows : the window's person-months.
    eta : per row, the cloglog linear predictor of the monthly hazard.
    retention : monthly retention beyond the last window month (0-1).

    Returns
    -------
    CustomerValues
        Per window customer.
    """
    return value_rates(rows, np.exp(eta), retention)


def value_rates(rows: WindowRows, rate: np.ndarray, retention: float) -> CustomerValues:
    """`value_hazards` from each row's monthly cumulative hazard -log(1 - h) = exp(eta) (`scenario_rate`)."""
    surv = np.exp(-_cumulative_hazard(rows, rate))
    discount = rows.discount
    within = np.bincount(rows.customer, weights=surv * discount, minlength=rows.n_customers)
    last = rows.last_rows()
    beyond = surv[last] * discount[last] * _tail_factors(rows, retention)[rows.step[last]]
    return CustomerValues(churn=1.0 - surv[last], margin=rows.margin * (within + beyond))


def _tail_factors(rows: WindowRows, retention: float) -> np.ndarray:
    """Per window month J (index 0 .. window_months): discounted months kept after J up to the horizon."""
    return np.array([geometric_clv(retention, 1.0, rows.monthly_discount_rate, rows.horizon_months - j)
                     if rows.horizon_months > j else 0.0 for j in range(rows.window_months + 1)])


def scenario_rate(eta: np.ndarray, share: np.ndarray | None, counter_eta: np.ndarray,
                  counter_share: np.ndarray | None) -> np.ndarray:
    """Per row: the monthly cumulative all-cause hazard -log(1 - h) of a scenario that moves the service-related
    exits' hazard only.

    `eta` and `counter_eta` are the cloglog predictors of the monthly all-cause hazard h, as observed and in the
    scenario; `share` and `counter_share` the share of exits that are service-related (0-1) in each. In discrete
    time the causes' monthly exit probabilities add up (a customer at risk at the start of a month leaves in it for
    cause k with probability h pi_k), so the scenario's monthly exit probability is h' pi' + h (1 - pi): the other
    exits keep their factual hazard. With `share` None the levers act on all churn: the rate is exp(counter_eta).
    """
    if share is None or counter_share is None:
        return np.exp(counter_eta)
    hazard, counter = -np.expm1(-np.exp(eta)), -np.expm1(-np.exp(counter_eta))
    return -np.log1p(-np.minimum(counter * counter_share + hazard * (1.0 - share), 1.0 - 1e-12))


def cause_exits(rows: WindowRows, eta: np.ndarray, cause_hazard: np.ndarray) -> np.ndarray:
    """Per window customer: probability of leaving for one cause within her window months, sum_j S_{j-1} h_j.

    `eta` is the all-cause cloglog predictor per row (the log of `scenario_rate`), `cause_hazard` the cause's
    monthly hazard.
    """
    lam = np.exp(eta)
    before = _cumulative_hazard(rows, lam) - lam  # up to the start of each month
    return np.bincount(rows.customer, weights=np.exp(-before) * cause_hazard, minlength=rows.n_customers)


def _cumulative_hazard(rows: WindowRows, lam: np.ndarray) -> np.ndarray:
    """Per row: the customer's cumulative hazard -log S up to the end of that window month."""
    cum = np.cumsum(lam)
    first = rows.first_rows()
    return cum - (cum[first] - lam[first])[rows.customer]


def mean_hazard(eta: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean monthly hazard 1 - exp(-exp(eta)) over person-months (weighted), 0-1."""
    return float(np.average(-np.expm1(-np.exp(eta)), weights=weights))
