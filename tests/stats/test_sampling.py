"""Random customer samples: whole customers kept, sizes exact, reproducible, and recorded for reports."""

import numpy as np
import pandas as pd
import pytest

from cxresearch.report.results import Results, read_results
from cxresearch.stats.sampling import sample_customers


def _frame(n_customers: int = 1000, rows_each: int = 3) -> pd.DataFrame:
    ids = np.repeat([f"c{i:04d}" for i in range(n_customers)], rows_each)
    return pd.DataFrame({"customer_id": ids, "x": np.arange(len(ids))})


def test_sample_keeps_whole_customers_and_exact_size():
    sample = sample_customers(_frame(), 100, seed=3)
    counts = sample.frame.groupby("customer_id").size()
    assert len(counts) == 100 and (counts == 3).all()
    assert (sample.n_used, sample.n_total) == (100, 1000)
    assert sample.fraction == pytest.approx(0.1)


def test_sample_is_reproducible_and_seed_dependent():
    a = sample_customers(_frame(), 50, seed=1).frame
    b = sample_customers(_frame(), 50, seed=1).frame
    c = sample_customers(_frame(), 50, seed=2).frame
    pd.testing.assert_frame_equal(a, b)
    assert set(a["customer_id"]) != set(c["customer_id"])


def test_sample_mean_is_unbiased_over_seeds():
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(2000)], "y": np.arange(2000) % 7})
    means = [sample_customers(frame, 200, seed=s).frame["y"].mean() for s in range(200)]
    # The mean of 200 sample means is within 4 standard errors of the population mean (3.0).
    se = frame["y"].std() / np.sqrt(200) * np.sqrt(1 - 200 / 2000) / np.sqrt(200)
    assert abs(np.mean(means) - frame["y"].mean()) < 4 * se


def test_no_sample_when_small_enough_and_nothing_recorded(tmp_path):
    sample = sample_customers(_frame(10), 100)
    assert not sample.sampled and len(sample.frame) == 30
    results = Results("nb", {}, "f")
    results.approximate("Cox model", sample)
    assert results.approximations == []
    assert sample_customers(_frame(10), None).n_used == 10


def test_recorded_sample_roundtrips_with_plain_words(tmp_path):
    results = Results("nb", {}, "f")
    results.approximate("Time-varying Cox", sample_customers(_frame(), 250, seed=0))
    loaded = read_results(results.write(tmp_path))
    (row,) = loaded.approximations
    assert row["n_used"] == 250 and row["n_total"] == 1000
    assert "250 of 1,000 customers" in row["text"]


def test_zero_means_everyone_and_negative_is_refused():
    assert not sample_customers(_frame(), 0).sampled
    with pytest.raises(ValueError, match="at least 1"):
        sample_customers(_frame(), -1)


def test_a_source_that_is_a_sample_says_so_in_every_notebook(tmp_path):
    from cxresearch.data.load import load_source, write_source
    from cxresearch.data.simulate import simulate, write_world
    from cxresearch.report import nbtools

    write_world(simulate(n_customers=300, months=12, seed=1), tmp_path / "w")
    data = load_source(tmp_path / "w")
    data.metadata["customer_sample"] = {"fraction": 0.01, "customers_total": 30_000, "customers_kept": 300}
    ctx = nbtools.start("02_churn_drivers", str(write_source(data, tmp_path / "s")), str(tmp_path / "r"), {})
    (row,) = ctx.results.approximations
    assert (row["n_used"], row["n_total"]) == (300, 30_000)
    assert "Every figure" in row["text"] and "300 of 30,000" in row["text"] and "seed" not in row["text"]


def test_small_shares_keep_a_decimal_so_a_sample_is_never_stated_rounded_away():
    from cxresearch.stats.sampling import percent

    assert [percent(x) for x in (0.0249912, 0.04, 0.001, 0.2, 0.355, 1.0)] == ["2.5%", "4%", "0.1%", "20%", "36%", "100%"]
