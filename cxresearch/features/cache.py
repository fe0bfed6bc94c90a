"""Tables validated and built once per suite run and shared by all its notebooks: `SharedTables`.

A suite run validates its data source once and writes the validated tables as Parquet to `<run>/shared/data/`
and the default feature snapshot to `<run>/shared/features/` (`features.shared.write_shared`). It passes the
directory to each notebook as the parameter `shared_tables`; the notebook opens it with `SharedTables.at`, reads
the validated copy (`SharedTables.data`) instead of validating the source again, and hands the object to
`features.snapshot.snapshot(..., cache=...)`, which reuses a snapshot already built for the same data and
arguments and stores the ones it builds. In JupyterLab `shared_tables` is empty: a notebook loads and validates
its source itself and builds its snapshots, exactly as before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxresearch.data.load import read_parquet_table, write_tables
from cxresearch.data.schema import TABLES, CXData

#: What the shared directory holds: the source it was built from and that source's fingerprint.
MANIFEST = "shared.json"
#: The Parquet schema metadata key under which a cached frame keeps its `attrs` (as JSON).
ATTRS_KEY = b"cxresearch.attrs"


@dataclass(frozen=True)
class SharedTables:
    """A suite run's shared directory: the validated copy of one data source and the feature tables built on it.

    Parameters
    ----------
    directory
        The run's shared directory (`<run>/shared`), holding `shared.json`, `data/` and `features/`.
    """

    directory: Path

    @classmethod
    def at(cls, directory: str | Path | None) -> SharedTables | None:
        """The shared tables in `directory`, or None when no directory is given (a notebook run by hand).

        Parameters
        ----------
        directory
            A notebook's `shared_tables` parameter: the run's shared directory, or "" outside a suite run.

        Returns
        -------
        SharedTables or None
            The shared tables, or None for "" or None.
        """
        return cls(Path(directory)) if directory else None

    @property
    def features(self) -> Path:
        """The directory of cached feature tables."""
        return self.directory / "features"

    def manifest(self) -> dict | None:
        """The manifest (source, name, fingerprint, observed_until, shape, metadata), or None when unreadable."""
        try:
            return json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_data(self, data: CXData, source: str) -> None:
        """Write validated `data`, loaded from `source`, and its manifest; create the feature directory.

        Parameters
        ----------
        data
            The validated data.
        source
            The data source string `data` was loaded from (a notebook uses the copy only for that source).
        """
        write_tables(data, self.directory / "data")
        manifest = {
            "source": str(source),
            "name": data.name,
            "fingerprint": data.fingerprint,
            "observed_until": data.observed_until.isoformat(),
            "shape": data.shape,
            "metadata": data.metadata,
        }
        (self.directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        self.features.mkdir(exist_ok=True)

    def data(self, source: str) -> CXData | None:
        """The validated copy of `source`, or None when the directory holds none for this source.

        Parameters
        ----------
        source
            The notebook's data source string, as the suite resolved it.

        Returns
        -------
        CXData or None
            The copy, with the name, fingerprint and metadata of the source it was made from; None when the
            manifest names another source or the tables are gone (a published run keeps only the features).
        """
        manifest = self.manifest()
        tables_dir = self.directory / "data"
        if manifest is None or manifest.get("source") != str(source) or not (tables_dir / "customers.parquet").is_file():
            return None
        tables = {
            table: read_parquet_table(tables_dir / f"{table}.parquet")
            for table in (*TABLES, "transactions", "treatments")
            if (tables_dir / f"{table}.parquet").is_file()
        }
        self.features.mkdir(exist_ok=True)
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
            treatments=tables.get("treatments"),
        )

    def serves(self, data: CXData) -> bool:
        """Whether cached features fit `data`: it is the shared data itself (same fingerprint), not a sample."""
        manifest = self.manifest()
        return manifest is not None and bool(data.fingerprint) and manifest.get("fingerprint") == data.fingerprint

    def frame(self, name: str) -> pd.DataFrame | None:
        """The feature table `name` cached by `store` (attrs included), or None when there is none yet."""
        path = self.features / name
        if not path.is_file():
            return None
        frame = read_parquet_table(path)
        attrs = pq.read_schema(path).metadata.get(ATTRS_KEY)
        frame.attrs.update(json.loads(attrs) if attrs else {})
        return frame

    def store(self, name: str, frame: pd.DataFrame) -> None:
        """Cache `frame` and its attrs as the feature table `name`, atomically (notebooks run side by side)."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), ATTRS_KEY: json.dumps(frame.attrs, default=str).encode()}
        )
        self.features.mkdir(parents=True, exist_ok=True)
        path = self.features / name
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp)
        tmp.replace(path)
