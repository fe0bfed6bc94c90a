"""DataFrames cached as Parquet with their attrs: where `snapshot` keeps and reuses its tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq


def cached_frame(path: Path) -> pd.DataFrame | None:
    """A DataFrame cached by `store_frame` (attrs included), or None when there is none yet."""
    if not path.is_file():
        return None
    from cxresearch.data.load import read_parquet_table

    frame = read_parquet_table(path)
    attrs = pq.read_schema(path).metadata.get(b"cxresearch.attrs")
    frame.attrs.update(json.loads(attrs) if attrs else {})
    return frame


def store_frame(frame: pd.DataFrame, path: Path) -> None:
    """Cache `frame` and its attrs as Parquet, atomically (parallel notebooks may write the same one)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"cxresearch.attrs": json.dumps(frame.attrs, default=str).encode()}
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
