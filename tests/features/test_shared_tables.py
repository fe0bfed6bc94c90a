"""Tables shared by a suite run's notebooks: the validated copy and cached snapshots equal what each notebook
would have built itself."""

from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from cxresearch.data.load import load_source
from cxresearch.data.simulate import simulate, write_world
from cxresearch.features import snapshot as features
from cxresearch.features.shared import ENV, load_shared, write_shared


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("world") / "w"
    write_world(simulate(n_customers=1500, months=24, seed=4), directory)
    return str(directory)


def test_shared_copy_equals_the_validated_source(source: str, tmp_path: Path) -> None:
    data = load_source(source)
    write_shared(data, source, tmp_path / "shared")
    shared = load_shared(source, tmp_path / "shared")
    for table in ("customers", "contacts", "surveys"):
        pdt.assert_frame_equal(getattr(shared, table), getattr(data, table))
    assert (shared.name, shared.fingerprint, shared.observed_until, shared.shape) == (
        data.name, data.fingerprint, data.observed_until, data.shape)
    assert shared.metadata == data.metadata
    assert shared.capabilities == data.capabilities


def test_snapshot_is_built_once_and_reused_with_its_attrs(source: str, tmp_path: Path) -> None:
    data = load_source(source)
    expected = features.snapshot(data, horizon_months=3)
    write_shared(data, source, tmp_path / "shared", [{"as_of": None, "window_months": 3, "horizon_months": 3}])
    cached = sorted((tmp_path / "shared" / "features").glob("snapshot-*.parquet"))
    assert len(cached) == 1
    shared = load_shared(source, tmp_path / "shared")
    got = features.snapshot(shared)
    pdt.assert_frame_equal(got, expected)
    assert got.attrs == expected.attrs
    # Other arguments are built (and then cached) rather than served the wrong table.
    earlier = features.snapshot(shared, as_of=pd.Timestamp(expected.attrs["as_of"]) - pd.DateOffset(months=3))
    pdt.assert_frame_equal(earlier, features.snapshot(data, as_of=pd.Timestamp(expected.attrs["as_of"]) - pd.DateOffset(months=3)))
    assert len(list((tmp_path / "shared" / "features").glob("snapshot-*.parquet"))) == 2


def test_shared_copy_is_only_used_for_its_own_source(source: str, tmp_path: Path, monkeypatch) -> None:
    write_shared(load_source(source), source, tmp_path / "shared")
    assert load_shared(source + "-other", tmp_path / "shared") is None
    monkeypatch.delenv(ENV, raising=False)
    assert load_shared(source) is None
    monkeypatch.setenv(ENV, str(tmp_path / "shared"))
    assert load_shared(source) is not None
    monkeypatch.setenv(ENV, str(tmp_path / "nowhere"))
    assert load_shared(source) is None


def test_a_published_run_without_its_tables_is_not_used(source: str, tmp_path: Path) -> None:
    import shutil

    write_shared(load_source(source), source, tmp_path / "shared")
    shutil.rmtree(tmp_path / "shared" / "data")
    assert load_shared(source, tmp_path / "shared") is None
