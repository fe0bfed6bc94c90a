"""A random subset of a whole canonical dataset (customers with all their contacts and surveys), for analyses
that rebuild features from the events (e.g. the pooled monthly snapshots of the claim tests) and are too slow on
a whole customer base. The per-customer features of a sampled customer are exactly those on the full data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cxresearch.data.schema import CXData
from cxresearch.stats.sampling import Sample, sample_customers


@dataclass(frozen=True)
class DataSample:
    """`data` restricted to a simple random sample of its customers; `sample` says how it was drawn."""

    data: CXData
    sample: Sample


def sample_data(data: CXData, max_customers: int | None, seed: int = 0) -> DataSample:
    """At most `max_customers` random customers of `data` with all their events (everything when None or enough).

    The subset gets its own fingerprint, so a suite run's cached full-data features are never served for it
    (`SharedTables.serves`), nor its features for the full data.

    Parameters
    ----------
    data
        The validated data.
    max_customers
        Most customers kept; None keeps everyone.
    seed
        Seed of the random draw.

    Returns
    -------
    DataSample
        The (possibly) restricted data and how the sample was drawn.
    """
    sample = sample_customers(data.customers, max_customers, seed)
    if not sample.sampled:
        return DataSample(data, sample)
    keep = sample.frame["customer_id"]

    def restrict(frame):
        return frame[frame["customer_id"].isin(keep)].reset_index(drop=True) if frame is not None else None

    subset = dataclasses.replace(
        data,
        customers=sample.frame.reset_index(drop=True),
        contacts=restrict(data.contacts),
        surveys=restrict(data.surveys),
        transactions=restrict(data.transactions) if data.transactions is not None
        and "customer_id" in data.transactions else data.transactions,
        fingerprint=f"{data.fingerprint}:sample-{sample.n_used}-seed-{seed}",
    )
    return DataSample(subset, sample)
