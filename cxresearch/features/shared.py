"""Writing a suite run's shared tables: the validated data and the snapshots every notebook would build."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cxresearch.data.schema import CXData
from cxresearch.features.cache import SharedTables
from cxresearch.features.snapshot import snapshot


def write_shared(
    data: CXData, source: str, directory: str | Path, as_of_list: Iterable[dict] = ()
) -> SharedTables:
    """Write validated `data` and its snapshots once, for the notebooks of a suite run to share.

    Parameters
    ----------
    data
        The validated data.
    source
        The data source string `data` was loaded from.
    directory
        Where to write (`<run>/shared`).
    as_of_list
        Keyword arguments of `features.snapshot.snapshot` (as_of, window_months, horizon_months), one dict per
        snapshot to build now.

    Returns
    -------
    SharedTables
        The shared tables, to pass to the notebooks (as the directory) and to `snapshot(..., cache=...)`.
    """
    shared = SharedTables(Path(directory))
    shared.write_data(data, source)
    for arguments in as_of_list:
        snapshot(data, **arguments, cache=shared)
    return shared
