"""Tables shared by a suite run's notebooks: the validated copy and cached snapshots equal what each notebook
would have built itself, and the `SharedTables` object handed to `snapshot` is what makes them reused."""

import shutil
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from cxresearch.data.load import load_source
from cxresearch.data.sample import sample_data
from cxresearch.data.simulate import simulate, write_world
from cxresearch.features.cache import SharedTables
from cxresearch.features.shared import write_shared
from cxresearch.features.snapshot import snapshot
from cxresearch.report import nbtools

DEFAULT = {"as_of": None, "window_months": 3, "horizon_months": 3}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("world") / "w"
    write_world(simulate(n_customers=1500, months=24, seed=4), directory)
    return str(directory)


def test_shared_copy_equals_the_validated_source(source: str, tmp_path: Path) -> None:
    data = load_source(source)
    shared = write_shared(data, source, tmp_path / "shared").data(source)
    for table in ("customers", "contacts", "surveys"):
        pdt.assert_frame_equal(getattr(shared, table), getattr(data, table))
    assert (shared.name, shared.fingerprint, shared.observed_until, shared.shape) == (
        data.name, data.fingerprint, data.observed_until, data.shape)
    assert shared.metadata == data.metadata
    assert shared.capabilities == data.capabilities


def test_snapshot_is_built_once_and_reused_with_its_attrs(source: str, tmp_path: Path) -> None:
    data = load_source(source)
    expected = snapshot(data, horizon_months=3)
    cache = write_shared(data, source, tmp_path / "shared", [DEFAULT])
    assert len(list(cache.features.glob("snapshot-*.parquet"))) == 1
    shared = cache.data(source)
    got = snapshot(shared, cache=cache)
    pdt.assert_frame_equal(got, expected)
    assert got.attrs == expected.attrs
    # Other arguments are built (and then cached) rather than served the wrong table.
    earlier = pd.Timestamp(expected.attrs["as_of"]) - pd.DateOffset(months=3)
    pdt.assert_frame_equal(snapshot(shared, as_of=earlier, cache=cache), snapshot(data, as_of=earlier))
    assert len(list(cache.features.glob("snapshot-*.parquet"))) == 2


def _plant(cache: SharedTables) -> pd.DataFrame:
    """Overwrite the cached default snapshot with a marked copy: served only if the cache is really read."""
    (path,) = cache.features.glob("snapshot-*.parquet")
    planted = cache.frame(path.name)
    planted["reactive_90d"] = 12_345
    cache.store(path.name, planted)
    return planted


def test_the_cache_object_is_what_serves_the_stored_snapshot(source: str, tmp_path: Path) -> None:
    data = load_source(source)
    cache = write_shared(data, source, tmp_path / "shared", [DEFAULT])
    planted = _plant(cache)
    assert (snapshot(data, cache=cache)["reactive_90d"] == 12_345).all()  # read from the cache
    assert snapshot(data)["reactive_90d"].max() < 100  # without it: built from the events
    # A sample of the same data has another fingerprint: the full data's features are never served for it.
    sample = sample_data(data, 500, seed=1).data
    assert len(snapshot(sample, cache=cache)) < len(planted)
    assert snapshot(sample, cache=cache)["reactive_90d"].max() < 100


def test_a_notebook_given_shared_tables_reads_the_copy_and_its_cached_snapshot(source: str, tmp_path: Path) -> None:
    data = load_source(source)
    cache = write_shared(data, source, tmp_path / "shared", [DEFAULT])
    _plant(cache)
    ctx = nbtools.start("02_churn_drivers", source, str(tmp_path), {}, shared_tables=str(cache.directory))
    assert ctx.cache == cache and ctx.data.fingerprint == data.fingerprint
    assert (snapshot(ctx.data, cache=ctx.cache)["reactive_90d"] == 12_345).all()
    # In JupyterLab the parameter is empty: no cache, the notebook builds its own features.
    alone = nbtools.start("02_churn_drivers", source, str(tmp_path), {}, shared_tables="")
    assert alone.cache is None and snapshot(alone.data, cache=alone.cache)["reactive_90d"].max() < 100


def test_shared_copy_is_only_used_for_its_own_source(source: str, tmp_path: Path) -> None:
    cache = write_shared(load_source(source), source, tmp_path / "shared")
    assert cache.data(source + "-other") is None
    assert cache.data(source) is not None
    assert SharedTables.at("") is None and SharedTables.at(None) is None
    assert SharedTables(tmp_path / "nowhere").data(source) is None


def test_a_published_run_without_its_tables_is_not_used(source: str, tmp_path: Path) -> None:
    cache = write_shared(load_source(source), source, tmp_path / "shared")
    shutil.rmtree(tmp_path / "shared" / "data")
    assert cache.data(source) is None
