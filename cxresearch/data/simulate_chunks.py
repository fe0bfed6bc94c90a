"""One chunk of customers of a simulated world at a time, so a world of millions never sits in memory whole.

A world of n customers is split into `ceil(n / chunk)` chunks of (nearly) equal size. Chunk k is a world of its
own of the same process: its customers (signup, segments, latent traits), monthly process, referrals, survey
delays, churn reasons and campaign assignments are drawn from streams of its own, `(seed, CHUNK_STREAM, k)`
(reasons `(seed, REASON_STREAM, k)`, campaigns `(seed, CAMPAIGN_STREAM, k)`), and its ids continue where the
previous chunk's stopped. A world of one chunk uses the world's generator and streams as before, so it is value for
value `simulate`'s world.

What changes with more than one chunk (why: a chunk's draws cannot depend on customers not in memory): the values
differ from those of the same seed simulated whole (the process, and so the truth, is the same); customer ids
follow signup order and contact ids follow time within each chunk, tables holding the chunks one after another;
the retention offer's eligibility (the top share of observed risk) is decided within each chunk (a million
exchangeable customers: the same threshold to about 0.1%).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxresearch.data.simulate_arrays import concat
from cxresearch.data.simulate_campaigns import CampaignRunner, treatments_table
from cxresearch.data.simulate_months import Population, hazard_terms, simulate_months
from cxresearch.data.simulate_parameters import PRE_HISTORY_MONTHS, effect_sizes
from cxresearch.data.simulate_reasons import EndReasons, draw_end_reasons
from cxresearch.data.simulate_tables import customer_id_width, customers_table, event_tables

#: Second seed word of each chunk's stream ("chunks" in ASCII).
CHUNK_STREAM = int.from_bytes(b"chunks", "big")
#: Customers per chunk by default: about 2.5 GiB at peak per chunk (simulate + write at 1M, bench/README.md).
CHUNK_CUSTOMERS = 1_000_000
#: Rows per Parquet row group (readers such as DuckDB scan row groups in parallel).
PARQUET_ROW_GROUP = 1_000_000


@dataclass
class ChunkIds:
    """Where a chunk sits in its world: its number, first customer index and id width, first contact index and
    contact id width."""

    number: int
    first: int
    width: int
    first_contact: int
    contact_width: int


@dataclass
class Part:
    """A simulated chunk (or whole world): its tables, leavers' reasons, campaign runner, who is still active and
    the NPS invitations (for the latent truth)."""

    customers: pd.DataFrame
    contacts: pd.DataFrame
    surveys: pd.DataFrame
    treatments: pd.DataFrame | None
    ending: EndReasons | None
    runner: CampaignRunner | None
    alive: np.ndarray
    nps: dict[str, np.ndarray]


def simulate_part(rng: np.random.Generator, pop: Population, bounds: np.ndarray, seed: int,
                  effects: dict[str, float] | None, reasons: bool, campaigns: bool,
                  ids: ChunkIds | None = None) -> Part:
    """The monthly process and tables of the customers `pop`: a whole world (`ids` None) or chunk `ids.number`.

    `rng` is the world's generator after the population (whole world) or the chunk's own; times are ns since the
    epoch; `bounds` from `month_bounds`.
    """
    driver_log_hr, ces_log_hr = effect_sizes(effects)
    months = len(bounds) - PRE_HISTORY_MONTHS - 1
    stream = () if ids is None else (ids.number,)
    hazard = hazard_terms(pop, months, driver_log_hr, ces_log_hr)
    runner = CampaignRunner(seed, pop, hazard, months, stream=stream) if campaigns else None
    journeys = simulate_months(rng, pop, bounds, hazard, runner)
    ending = draw_end_reasons(seed, pop, journeys, stream) if reasons else None
    first, width = (0, customer_id_width(len(pop.signup))) if ids is None else (ids.first, ids.width)
    customers = customers_table(rng, pop, journeys, bounds[-1], ending, (first, width))
    # Concatenated once, the monthly chunks are dropped so they do not stay resident alongside the tables.
    reactive, proactive, nps = concat(journeys.reactive), concat(journeys.proactive), concat(journeys.nps)
    journeys.reactive, journeys.proactive = [], []
    offsets = None if ids is None else (ids.first, ids.first_contact, ids.contact_width)
    contacts, surveys = event_tables(rng, width, reactive, proactive, dict(nps), offsets)
    treatments = None if runner is None else treatments_table(runner.assignments, bounds, width, first)
    return Part(customers, contacts, surveys, treatments, ending, runner, journeys.alive, nps)


def chunk_edges(n: int, chunk: int) -> list[int]:
    """First customer index of each chunk, then `n`: ceil(n / chunk) chunks whose sizes differ by at most one."""
    if chunk < 1:
        raise ValueError(f"chunk must be positive, not {chunk}")
    k = -(-n // chunk)
    return [n * i // k for i in range(k + 1)]


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """One table as one Parquet file (see `TableAppender` for the format)."""
    with TableAppender(path.parent, "parquet") as appender:
        appender.write(path.stem, df)


class TableAppender:
    """Tables written a chunk at a time, each into one file: Parquet row groups appended (zstd level 1,
    `PARQUET_ROW_GROUP` rows per row group, straight from the Arrow buffers) or CSV rows under one header."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.out, self.fmt = out, fmt
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.started: set[str] = set()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        for writer in self.writers.values():
            writer.close()

    def write(self, name: str, df: pd.DataFrame) -> None:
        """Append `df` to table `name` (`<name>.parquet` or `<name>.csv` in the output directory)."""
        if self.fmt == "csv":
            df.to_csv(self.out / f"{name}.csv", index=False, mode="a" if name in self.started else "w",
                      header=name not in self.started)
            self.started.add(name)
            return
        table = pa.Table.from_pandas(df, preserve_index=False)
        if name not in self.writers:
            # Ids and event timestamps are (nearly) all distinct: dictionary encoding them only costs time.
            dictionary = [c for c in df.columns if not (c.endswith("_id") or c == "timestamp")]
            self.writers[name] = pq.ParquetWriter(self.out / f"{name}.parquet", table.schema, compression="zstd",
                                                  compression_level=1, use_dictionary=dictionary)
        self.writers[name].write_table(table, row_group_size=PARQUET_ROW_GROUP)
