"""The Ibis snapshot equals `features.snapshot` on DuckDB and, when available, on Spark in local mode."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from cxresearch.data.load import load_source
from cxresearch.data.schema import CXData
from cxresearch.data.simulate import simulate
from cxresearch.features.snapshot import snapshot
from cxresearch.stats.units import DAYS_PER_MONTH

ibis = pytest.importorskip("ibis", reason="ibis-framework is not installed (optional extra `distributed`)")
pytest.importorskip("ibis.backends.duckdb", reason="ibis-framework is installed without its DuckDB backend")

from cxresearch.features.portable import (
    TABLES,
    memtables,
    sample_source,
    snapshot_on,
    to_microseconds,
)

# ibis 12 calls a DuckDB method that DuckDB 2 deprecates; harmless, and not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")



def _assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Every column equal (floats to 1e-12 relative); dtypes aligned only where string types differ."""
    assert list(got.columns) == list(expected.columns)
    strings = [c for c in expected if expected[c].dtype != got[c].dtype and got[c].dtype == object]
    pd.testing.assert_frame_equal(got.astype({c: expected[c].dtype for c in strings}), expected,
                                  check_exact=False, rtol=1e-12)


@pytest.fixture(scope="module")
def demo(demo_world: Path) -> CXData:
    return load_source(demo_world)


def test_hand_computed_customers_on_duckdb(tiny: CXData) -> None:
    s = snapshot_on(ibis.duckdb.connect(), "2023-07-01", tables=memtables(tiny),
                    observed_until=tiny.observed_until)
    s = s.set_index("customer_id")
    assert list(s.index) == ["a", "b", "c"]  # d signed up after as_of
    a, b, c = s.loc["a"], s.loc["b"], s.loc["c"]
    # Window [2023-04-01, 2023-07-01): a's 2023-07-02 contact and survey are in the future.
    assert (a.reactive_90d, a.unresolved_90d, a.inconsistency_90d, a.proactive_90d) == (2, 1, 1, 0)
    assert a.fcr_rate_90d == pytest.approx(0.5)
    assert (a.ces_last, a.ces_mean, a.ces_mean_90d, a.n_survey_responses) == (6, 4.5, 4.5, 2)
    assert (b.reactive_90d, b.proactive_90d, b.unresolved_90d) == (1, 1, 1)
    assert (b.nps_last, b.nps_mean) == (9, 6.5) and pd.isna(b.ces_last) and b.fcr_rate_90d == 0
    assert (a.active, a.churned, a.event) == (True, True, True)
    assert (b.active, b.churned, b.event) == (True, False, False)
    assert (c.active, c.churned, c.event) == (False, False, True)
    assert a.tenure_months == pytest.approx(177 / DAYS_PER_MONTH)  # 2023-01-05 to 2023-07-01
    assert b.duration_months == pytest.approx(304 / DAYS_PER_MONTH)  # 2022-12-01 to 2023-10-01, censored
    _assert_same(s.reset_index(), snapshot(tiny, "2023-07-01"))


def test_missing_optional_columns_and_no_surveys_match_snapshot(tiny: CXData) -> None:
    contacts = tiny.contacts.drop(columns=["reason", "resolved_first_contact"])
    sparse = dataclasses.replace(tiny, contacts=contacts, surveys=tiny.surveys.iloc[:0])
    got = snapshot_on(ibis.duckdb.connect(), "2023-07-01", tables=memtables(sparse),
                      observed_until=sparse.observed_until)
    assert got["unresolved_90d"].eq(0).all() and got["inconsistency_90d"].eq(0).all()
    assert got["fcr_rate_90d"].isna().all() and got["n_survey_responses"].eq(0).all()
    _assert_same(got, snapshot(sparse, "2023-07-01"))


def test_unobserved_prediction_window_is_rejected(tiny: CXData) -> None:
    with pytest.raises(ValueError, match="prediction window"):
        snapshot_on(ibis.duckdb.connect(), "2023-08-01", tables=memtables(tiny),
                    observed_until=tiny.observed_until)


def test_ibis_on_duckdb_equals_snapshot_on_demo_world(demo: CXData) -> None:
    expected = snapshot(demo)
    got = snapshot_on(ibis.duckdb.connect(), tables=memtables(demo), observed_until=demo.observed_until)
    assert got.attrs == expected.attrs and len(got) == 19_015
    _assert_same(got, expected)
    # One busy customer recomputed from the raw events with pandas, independently of both queries.
    as_of = pd.Timestamp(expected.attrs["as_of"])
    start = as_of - pd.DateOffset(months=3)
    k = demo.contacts[(demo.contacts["timestamp"] >= start) & (demo.contacts["timestamp"] < as_of)]
    who = k.loc[k["direction"] == "reactive", "customer_id"].value_counts().index[0]
    row = got.set_index("customer_id").loc[who]
    mine = k[k["customer_id"] == who]
    assert row.reactive_90d == (mine["direction"] == "reactive").sum() >= 3
    assert row.proactive_90d == (mine["direction"] == "proactive").sum()
    answered = demo.surveys[(demo.surveys["customer_id"] == who) & (demo.surveys["timestamp"] < as_of)]
    nps = answered[answered["instrument"] == "nps"].sort_values("timestamp")
    assert row.n_survey_responses == len(answered)
    assert (row.nps_last == nps["score"].iloc[-1]) if len(nps) else pd.isna(row.nps_last)


def test_parquet_files_queried_in_place_by_table_name(demo: CXData, demo_world: Path) -> None:
    """The lake path: the backend reads the canonical Parquet files itself; nothing passes through pandas."""
    con = ibis.duckdb.connect()
    for name in ("customers", "contacts", "surveys"):
        con.read_parquet(demo_world / f"{name}.parquet", table_name=name)
    got = snapshot_on(con, "2025-06-01", observed_until=demo.observed_until, window_months=6)
    _assert_same(got, snapshot(demo, "2025-06-01", window_months=6))


def _assert_sample_is_whole_histories(directory: Path, full: CXData, fraction: float) -> None:
    """The sample loads as a canonical source; its snapshot is the full snapshot's rows for its customers."""
    sample = load_source(directory)
    kept = sample.metadata["customer_sample"]
    assert kept["customers_total"] == len(full.customers) and kept["customers_kept"] == len(sample.customers)
    # A hash split keeps close to `fraction` of the customers (binomial sd ~ 0.7 points at 2,000).
    assert abs(len(sample.customers) / len(full.customers) - fraction) < 0.03
    expected = snapshot(full)
    expected = expected[expected["customer_id"].isin(sample.customers["customer_id"])].reset_index(drop=True)
    _assert_same(snapshot(sample), expected)


def test_customer_sample_pulled_from_parquet_in_place(demo: CXData, demo_world: Path, tmp_path: Path) -> None:
    con = ibis.duckdb.connect()
    for name in ("customers", "contacts", "surveys"):
        con.read_parquet(demo_world / f"{name}.parquet", table_name=name)
    out = sample_source(con, tmp_path / "sample", observed_until=demo.observed_until, fraction=0.1,
                        metadata={"observed_from": demo.metadata["observed_from"]})
    _assert_sample_is_whole_histories(out, demo, 0.1)
    with pytest.raises(ValueError, match="fraction"):
        sample_source(con, tmp_path / "none", observed_until=demo.observed_until, fraction=0)


def _spark_skip_reason() -> str | None:
    """Why the Spark test cannot run here, or None."""
    try:
        import ibis.backends.pyspark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as err:
        return f"PySpark backend unavailable ({err}); install ibis-framework[pyspark]"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java runtime for Spark (apt-get install default-jre-headless)"
    return None


@pytest.fixture(scope="module")
def spark_con():
    if reason := _spark_skip_reason():
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("cxresearch-test")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")  # the default 200 is for clusters
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.pyspark.python", sys.executable)  # workers must import this venv's pandas
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(session)
    session.stop()


@pytest.mark.spark
def test_ibis_on_spark_local_equals_snapshot_and_samples(spark_con, tmp_path: Path) -> None:
    data = simulate(n_customers=2_000, months=36, seed=3).to_cxdata()
    expected = snapshot(data)
    got = snapshot_on(spark_con, tables=memtables(data), observed_until=data.observed_until)
    assert len(got) == len(expected) > 1_800
    _assert_same(got, expected)
    # Every column, as a warehouse would hold them: the sample must load as a canonical source.
    whole = {name: ibis.memtable(to_microseconds(getattr(data, name))) for name in TABLES}
    out = sample_source(spark_con, tmp_path / "sample", observed_until=data.observed_until, fraction=0.25,
                        tables=whole)
    _assert_sample_is_whole_histories(out, data, 0.25)
