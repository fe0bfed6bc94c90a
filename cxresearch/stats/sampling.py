"""Random subsamples for analyses too slow on a whole customer base, each one stated in the results.

Estimates from a simple random sample of customers are unbiased for the whole base; their confidence intervals
widen to what the sample supports (computed on the sample, so they stay honest). Every sample taken through
`sample_customers` is described by a `Sample`, which the notebook records with `Results.approximate`, so the
reports say which figures rest on a sample and how large it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Sample:
    """A frame restricted to a random subset of its customers, and how it was drawn."""

    frame: pd.DataFrame
    n_used: int
    n_total: int
    seed: int | None  # None when not drawn by a random number generator (e.g. by a hash of the id)
    unit: str = "customers"

    @property
    def sampled(self) -> bool:
        """Whether some customers were left out."""
        return self.n_used < self.n_total

    @property
    def fraction(self) -> float:
        """Share of the customers kept (0-1)."""
        return self.n_used / self.n_total if self.n_total else 1.0

    def describe(self, analysis: str) -> str:
        """One plain-words sentence for reports, e.g. 'Cox model: a random 100,000 of 1,000,000 customers'."""
        share = percent(self.fraction)
        how = f"{share}, seed {self.seed}" if self.seed is not None else share
        return (
            f"{analysis}: computed on a simple random sample of {self.n_used:,} of {self.n_total:,} {self.unit} "
            f"({how}); confidence intervals reflect the sample size"
        )


def percent(fraction: float) -> str:
    """A share (0-1) as a percentage for sentences: whole below 10% only when it is ('25%', '2.5%', '4%')."""
    text = f"{fraction:.1%}" if fraction < 0.1 else f"{fraction:.0%}"
    return text.replace(".0%", "%")


def sample_customers(
    frame: pd.DataFrame, max_customers: int | None, seed: int = 0, id_column: str = "customer_id"
) -> Sample:
    """All rows of at most `max_customers` randomly chosen customers (all of them when None, 0 or enough).

    0 means "no limit", the convention of the notebooks' integer parameters (papermill has no None for ints).
    """
    if max_customers is not None and max_customers < 0:
        raise ValueError(f"max_customers must be at least 1 (or 0/None for all), not {max_customers}")
    max_customers = max_customers or None
    if id_column in frame.columns:
        ids = frame[id_column].unique()
    else:
        ids = np.arange(len(frame))
    n_total = len(ids)
    if max_customers is None or n_total <= max_customers:
        return Sample(frame, n_total, n_total, seed)
    rng = np.random.default_rng(seed)
    keep = ids[np.sort(rng.choice(n_total, size=max_customers, replace=False))]
    if id_column in frame.columns:
        out = frame[frame[id_column].isin(keep)]
    else:
        out = frame.iloc[keep]
    return Sample(out, max_customers, n_total, seed)
