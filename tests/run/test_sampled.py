"""`cxresearch run` on a base checked out of core: the notebooks run on a stated hash sample of its customers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simulated_worlds import simulated_world
from typer.testing import CliRunner

from cxresearch.data.load import load_source
from cxresearch.report.results import read_results
from cxresearch.run.cli import app
from cxresearch.run.sampled import SAMPLES_DIR, sample_for_run, wants_out_of_core

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 simulated customers over 24 months, with the campaigns (treatments and their truth)."""
    return simulated_world(tmp_path_factory, "sampled", 3000, 24, 7)


def test_small_parquet_bases_stay_in_memory_unless_told(world: Path) -> None:
    assert not wants_out_of_core(str(world), None)  # 3,000 customers are far below 40M rows
    assert wants_out_of_core(str(world), True) and not wants_out_of_core(str(world), False)


def test_the_sample_is_stated_complete_and_cached(world: Path, tmp_path: Path) -> None:
    first = sample_for_run(str(world), tmp_path, max_customers=600)
    assert not first.reused and first.directory.parent == (tmp_path / SAMPLES_DIR).resolve()
    full, sample = load_source(world), load_source(first.directory)
    info = sample.metadata["customer_sample"]
    # 600 of 3,000 asks for 2,000 of 10,000 hash buckets: about 20% of the customers, all of their events.
    assert info["fraction"] == 0.2 and info["customers_total"] == 3_000
    assert info["customers_kept"] == len(sample.customers) and abs(len(sample.customers) - 600) < 90
    assert info["ended_total"] == int(full.customers["end_date"].notna().sum())
    ids = set(sample.customers["customer_id"])
    for table in ("contacts", "surveys", "treatments"):
        whole = getattr(full, table)
        assert len(getattr(sample, table)) == int(whole["customer_id"].isin(ids).sum()) > 0
    truth = json.loads((first.directory / "truth.json").read_text())
    for campaign in truth["campaigns"].values():
        kept = campaign["customers"]["customer_id"]
        assert set(kept) <= ids and len(kept) == len(campaign["customers"]["treated"])
    assert sample_for_run(str(world), tmp_path, max_customers=600).reused  # the same base and fraction: reused


def test_the_sample_is_the_one_ibis_draws_where_the_data_lives(world: Path, tmp_path: Path) -> None:
    ibis = pytest.importorskip("ibis", reason="ibis-framework is optional (pip install -e '.[distributed]')")
    from cxresearch.features.portable import sample_source

    con = ibis.duckdb.connect()
    for name in ("customers", "contacts", "surveys"):
        con.read_parquet(world / f"{name}.parquet", table_name=name)
    mine = load_source(sample_for_run(str(world), tmp_path, max_customers=300).directory)
    theirs = load_source(sample_source(con, tmp_path / "ibis", observed_until=mine.observed_until, fraction=0.1))
    assert set(mine.customers["customer_id"]) == set(theirs.customers["customer_id"])


def test_run_out_of_core_states_the_sample_and_equals_a_run_on_it(world: Path, tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: big\ndata: {world}\nnotebooks: [01_data_audit]\nnotebooks_dir: {ROOT / 'notebooks'}\n")
    reports = tmp_path / "reports"
    result = runner.invoke(app, ["run", "--suite", str(suite), "--out", str(reports), "--out-of-core",
                                 "--sample-customers", "600"])
    assert result.exit_code == 0, result.output
    assert "checked out of core; the notebooks run on a hash sample of" in result.output
    assert "of 3,000 customers (20.00%; customers whose id hashes below 2,000" in result.output
    sampled = reports / "big" / "latest"
    manifest = json.loads((sampled / "manifest.json").read_text())
    n_kept = manifest["sample"]["customers_kept"]
    assert manifest["sample"]["customers_total"] == 3_000 and abs(n_kept - 600) < 90
    audit = read_results(sampled / "results" / "01_data_audit.json")
    (row,) = audit.approximations
    assert (row["n_used"], row["n_total"]) == (n_kept, 3_000) and row["analysis"] == "Every figure"
    executive = (sampled / "html" / "00_executive_summary.html").read_text()
    assert "Every figure rests on a sample of the customer base" in executive and f"{n_kept:,} of them" in executive
    ended = load_source(world).customers["end_date"].notna().sum()  # counted on every customer of the base
    assert f"Counted on every customer: {ended:,} of 3,000 ({ended / 3_000:.1%}) left" in executive
    # The same notebooks run directly on the sample directory give the same figures.
    direct = suite.with_name("direct.yaml")
    direct.write_text(suite.read_text().replace(f"data: {world}", f"data: {manifest['data_source']}")
                      .replace("name: big", "name: direct"))
    again = runner.invoke(app, ["run", "--suite", str(direct), "--out", str(reports)])
    assert again.exit_code == 0 and "checked out of core" not in again.output, again.output
    plain = read_results(reports / "direct" / "latest" / "results" / "01_data_audit.json")
    assert plain.estimates == audit.estimates and plain.tables == audit.tables and plain.approximations == [row]
