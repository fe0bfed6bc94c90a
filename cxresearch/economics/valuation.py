"""How a customer's value is computed: discounting, horizon, bootstrap, the survival tail and the lifetimes
table's columns, named once for every CLV of a notebook."""

from __future__ import annotations

from dataclasses import dataclass

from cxresearch.economics.clv_tail import TailChoice
from cxresearch.survival.columns import LifetimeColumns


@dataclass(frozen=True)
class Valuation:
    """How a customer's value is computed: discounting, horizon, bootstrap, tail and the columns of the
    lifetimes table (see `clv.clv_from_survival`).

    Parameters
    ----------
    monthly_discount_rate
        Discount rate per month (share).
    horizon_months
        Months over which margin is counted.
    n_boot, seed
        Bootstrap resamples for the CLV's CI and their random seed.
    currency
        Label of the money amounts.
    entry
        Column of left-truncation times (months since signup), or None.
    duration, event, margin_column
        Columns of tenure (months), churn flag and monthly margin (currency per month).
    tail
        Survival tail beyond the observed horizon: "auto" (chosen by a backtest) or a family of
        `tail_models.FAMILIES` (see `clv_from_survival`).
    """

    monthly_discount_rate: float = 0.01
    horizon_months: int = 60
    n_boot: int = 200
    seed: int = 0
    currency: str = "currency"
    entry: str | None = None
    duration: str = "duration_months"
    event: str = "event"
    margin_column: str = "monthly_margin"
    tail: str | TailChoice = "auto"

    @property
    def columns(self) -> LifetimeColumns:
        """The lifetime's columns (duration, event, entry) as the survival functions take them."""
        return LifetimeColumns(self.duration, self.event, self.entry)


#: The default valuation: 1% a month over 60 months, 200 bootstrap resamples, tail chosen by backtest.
VALUATION = Valuation()
