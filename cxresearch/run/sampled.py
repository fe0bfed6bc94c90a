"""`cxresearch run` on a base too large for memory: validated out of core, the notebooks on a stated hash sample.

A canonical Parquet directory above `data.out_of_core.OUT_OF_CORE_ROWS` rows (or any, with `--out-of-core`) is
checked with DuckDB over its files; the notebooks then run on a customer sample with complete histories, chosen
by a hash of the customer id (`data.out_of_core.sample_parquet`) and cached under `<reports>/.samples/` by the
base's fingerprint and the fraction, so a rerun on the same base reuses it. The sample's dataset.json says what
it is (`customer_sample`): every notebook then records that its figures rest on it, and the executive page
says so with the base's size and the share of customers who left, counted on every customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cxresearch.data.load import DATASET_FILE
from cxresearch.data.out_of_core import (
    HASH_BUCKETS,
    OUT_OF_CORE_ROWS,
    ParquetSource,
    parquet_rows,
    sample_parquet,
    validate_out_of_core,
)

#: Customers the notebooks run on when the base is checked out of core: the size the whole suite was measured at
#: on the 10M world (829 s, 7.91 GiB peak; bench/README.md). A 1M sample failed then (notebook 02's person-month
#: check on every customer passed 17 GiB); 02 and 06 now sample those checks, but 1M has not been re-measured.
SAMPLE_CUSTOMERS = 250_000

#: Where, under the reports directory, the samples are cached (one directory per base fingerprint and fraction).
SAMPLES_DIR = ".samples"


@dataclass(frozen=True)
class SampledBase:
    """A base validated out of core and the canonical directory holding the customer sample to run on."""

    base: ParquetSource
    directory: Path
    reused: bool  # the sample was already cached for this base and fraction


def wants_out_of_core(source: str, wanted: bool | None) -> bool:
    """Whether to check `source` out of core: as `wanted`, else when it is a Parquet directory above
    `OUT_OF_CORE_ROWS` rows (customers + contacts + surveys, from the Parquet footers)."""
    if wanted is not None:
        return wanted
    rows = parquet_rows(source) if Path(source).is_dir() else None
    return rows is not None and sum(rows.values()) > OUT_OF_CORE_ROWS


def sample_for_run(source: str, reports_dir: str | Path, max_customers: int = SAMPLE_CUSTOMERS) -> SampledBase:
    """Validate `source` out of core and return the hash sample of about `max_customers` customers to run on.

    Raises what `validate_out_of_core` raises (DataValidationError, `validation.sql.NeedsParsing`).

    Parameters
    ----------
    source
        A canonical Parquet directory.
    reports_dir
        The reports directory; the sample is cached in `<reports_dir>/.samples/<fingerprint>-<buckets>/`.
    max_customers
        Customers wanted in the sample (at least 1); the fraction is rounded to whole hash buckets (0.01%), so
        the sample holds about this many.

    Returns
    -------
    SampledBase
        The validated base and the sample's directory.
    """
    if max_customers < 1:
        raise ValueError(f"the sample needs at least 1 customer, not {max_customers}")
    base = validate_out_of_core(source)
    total = base.rows["customers"]
    buckets = max(1, min(HASH_BUCKETS, round(HASH_BUCKETS * max_customers / max(total, 1))))
    directory = Path(reports_dir).resolve() / SAMPLES_DIR / f"{base.fingerprint}-{buckets}"
    reused = (directory / DATASET_FILE).is_file()
    if not reused:
        sample_parquet(base, directory, buckets / HASH_BUCKETS)
    return SampledBase(base, directory, reused)


def describe_sample(info: dict) -> str:
    """One line for the console: the sample's size and fraction, how it was drawn and the base's size."""
    return (f"a hash sample of {info['customers_kept']:,} of {info['customers_total']:,} customers "
            f"({info['fraction']:.2%}; {info['drawn']})")
