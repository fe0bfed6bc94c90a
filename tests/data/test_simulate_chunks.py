"""Worlds simulated a chunk of customers at a time (`write_simulation`): the same files up to one chunk, and
beyond it valid tables from the same process with a truth that adds up over the chunks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from cxresearch.data.load import load_source
from cxresearch.data.simulate import simulate, write_simulation, write_world
from cxresearch.data.simulate_chunks import chunk_edges

FILES = ("customers.parquet", "contacts.parquet", "surveys.parquet", "truth.json", "dataset.json")


@pytest.fixture(scope="module")
def chunked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """12,000 customers over 12 months, with campaigns, in three chunks of 4,000."""
    out = tmp_path_factory.mktemp("chunked")
    return out, write_simulation(out, chunk_customers=4_000, n_customers=12_000, months=12, seed=5, campaigns=True)


def test_up_to_one_chunk_the_files_are_those_of_write_world(tmp_path: Path) -> None:
    write_world(simulate(n_customers=3_000, months=12, seed=2, campaigns=True), tmp_path / "whole")
    rows = write_simulation(tmp_path / "chunked", chunk_customers=3_000, n_customers=3_000, months=12, seed=2,
                            campaigns=True)
    for name in (*FILES, "treatments.parquet"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "chunked" / name).read_bytes(), name
    assert rows["customers"] == 3_000


def test_chunks_are_nearly_equal_and_cover_every_customer() -> None:
    assert chunk_edges(10, 4) == [0, 3, 6, 10]
    assert chunk_edges(8, 4) == [0, 4, 8]
    assert chunk_edges(3, 4) == [0, 3]
    with pytest.raises(ValueError):
        chunk_edges(3, 0)


def test_a_chunked_world_is_valid_with_unique_ids_one_row_group_set_per_chunk(chunked) -> None:
    out, rows = chunked
    data = load_source(out)
    assert len(data.customers) == rows["customers"] == 12_000
    assert data.customers["customer_id"].is_unique and data.contacts["contact_id"].is_unique
    assert data.customers["customer_id"].iloc[-1] == "C012000"
    assert pq.ParquetFile(out / "customers.parquet").metadata.num_row_groups == 3
    # Survey responses link to the contact they followed, across chunks too.
    linked = data.surveys["contact_id"].dropna()
    assert linked.isin(data.contacts["contact_id"]).all()


def test_the_truth_adds_up_over_the_chunks(chunked) -> None:
    out, _ = chunked
    data = load_source(out)
    truth = json.loads((out / "truth.json").read_text())
    whole = simulate(n_customers=500, months=12, seed=5, campaigns=True).truth
    assert truth["coefficients"] == whole["coefficients"] and truth["baseline"] == whole["baseline"]
    assert truth["settings"]["chunks"]["count"] == 3 and truth["settings"]["n_customers"] == 12_000
    reasons = truth["churn_reasons"]
    assert reasons["n_churners"] == data.customers["end_date"].notna().sum()
    drawn = data.customers["end_reason"].value_counts(normalize=True)
    for reason, share in reasons["share_drawn"].items():
        assert share == pytest.approx(drawn.get(reason, 0.0), abs=1e-6)
    assert sum(reasons["share"].values()) == pytest.approx(1.0, abs=1e-5)
    for name, campaign in truth["campaigns"].items():
        assigned = data.treatments[data.treatments["campaign"] == name]
        assert campaign["customers"]["customer_id"] == assigned["customer_id"].tolist()
        assert campaign["mean_log_hazard_ratio"] == pytest.approx(np.mean(campaign["customers"]["log_hazard_ratio"]),
                                                                  abs=1e-6)


def test_a_chunked_world_churns_like_the_whole_world(chunked) -> None:
    out, _ = chunked
    chunked_churn = load_source(out).customers["end_date"].notna().mean()
    whole = simulate(n_customers=12_000, months=12, seed=5).customers["end_date"].notna().mean()
    # Binomial SD of a difference of two shares near 0.2 over 12,000 customers each: about 0.005.
    assert abs(chunked_churn - whole) < 0.02
