"""Tables validated and built once per suite run and shared by all its notebooks.

A suite run validates its data source once, writes the validated tables as Parquet to `<run>/shared/data/`
and the default feature snapshot to `<run>/shared/features/`, and tells the notebooks' kernels where
(environment variable `CXRESEARCH_SHARED`). `report.nbtools.start` then reads the validated copy instead of
validating the source again, and `features.snapshot` reuses a snapshot already built for the same arguments.
In JupyterLab nothing is set, so a notebook loads and validates its source itself, exactly as before.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cxresearch.data.schema import TABLES, CXData

#: Environment variable naming the run's shared directory (set by the suite for its kernels).
ENV = "CXRESEARCH_SHARED"
#: What the shared directory holds: the source it was built from and that source's fingerprint.
MANIFEST = "shared.json"


def write_shared(data: CXData, source: str, directory: str | Path, as_of_list: Iterable[dict] = ()) -> Path:
    """Write validated `data` (loaded from `source`) and the snapshots for each argument dict in `as_of_list`
    (keyword arguments of `features.snapshot`) to `directory`; return it."""
    from cxresearch.data.load import write_tables
    from cxresearch.features.snapshot import snapshot

    directory = Path(directory)
    write_tables(data, directory / "data")
    manifest = {
        "source": str(source),
        "name": data.name,
        "fingerprint": data.fingerprint,
        "observed_until": data.observed_until.isoformat(),
        "shape": data.shape,
        "metadata": data.metadata,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    (directory / "features").mkdir(exist_ok=True)
    cached = dataclasses.replace(data, feature_cache=directory / "features")
    for arguments in as_of_list:
        snapshot(cached, **arguments)
    return directory


def load_shared(source: str, directory: str | Path | None = None) -> CXData | None:
    """The validated copy of `source` in `directory` (default: `$CXRESEARCH_SHARED`), or None when there is
    none for this source; its snapshots are cached in `<directory>/features/`."""
    directory = directory or os.environ.get(ENV)
    if not directory:
        return None
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # A published run keeps only the features: without its tables the copy is not there to share.
    if manifest.get("source") != str(source) or not (directory / "data" / "customers.parquet").is_file():
        return None
    from cxresearch.data.load import read_parquet_table

    tables = {
        table: read_parquet_table(directory / "data" / f"{table}.parquet")
        for table in (*TABLES, "transactions")
        if (directory / "data" / f"{table}.parquet").is_file()
    }
    features = directory / "features"
    features.mkdir(exist_ok=True)
    return CXData(
        customers=tables["customers"],
        contacts=tables["contacts"],
        surveys=tables["surveys"],
        observed_until=pd.Timestamp(manifest["observed_until"]),
        name=manifest["name"],
        fingerprint=manifest["fingerprint"],
        metadata=manifest["metadata"],
        shape=manifest["shape"],
        transactions=tables.get("transactions"),
        feature_cache=features,
    )


