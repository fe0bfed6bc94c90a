"""Executive-summary building blocks: run comparison, evidence table, cell-size suppression, escaping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxresearch.report.findings import approximations, evidence_html, headlines
from cxresearch.report.key_figures import compare_runs, kpi_tiles_html
from cxresearch.report.results import Results
from cxresearch.report.retention_text import retention_vs_acquisition_text
from cxresearch.report.suite_results import load_suite_results
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.sampling import sample_customers


def _write(directory: Path, notebook: str, estimates: dict[str, Estimate], **tables: pd.DataFrame) -> None:
    res = Results(notebook=notebook, parameters={"horizon_months": 3}, data_fingerprint="x", estimates=estimates,
                  findings=[f"finding {i}" for i in range(5)])
    for key, df in tables.items():
        res.add_table(key, df)
    res.write(directory)


def test_compare_runs_flags_only_changes_beyond_uncertainty(tmp_path: Path) -> None:
    before, now = tmp_path / "before", tmp_path / "now"
    # se = (ci width) / 3.92 = 1 for each; change 5 -> z = 5 / sqrt(2) = 3.5 (real); change 1 -> z = 0.71 (noise)
    _write(before, "02_churn_drivers", {"churn_rate_window": Estimate(10.0, "%", "churn", 10 - 1.96, 10 + 1.96)})
    _write(now, "02_churn_drivers", {"churn_rate_window": Estimate(15.0, "%", "churn", 15 - 1.96, 15 + 1.96)})
    _write(before, "04_loyalty_metrics", {"nps_score": Estimate(20.0, "points", "NPS", 20 - 1.96, 20 + 1.96)})
    _write(now, "04_loyalty_metrics", {"nps_score": Estimate(19.0, "points", "NPS", 19 - 1.96, 19 + 1.96)})
    table = compare_runs(load_suite_results(now), load_suite_results(before)).set_index("figure")
    churn, nps = "Churned within 3 months", "Net Promoter Score"  # the glossary's labels, not the notebooks'
    assert table.loc[churn, "change"] == pytest.approx(5.0) and table.loc[churn, "direction"] == "▲"
    assert bool(table.loc[churn, "beyond_uncertainty"])
    assert not table.loc[nps, "beyond_uncertainty"] and table.loc[nps, "direction"] == "▼"


def test_evidence_table_is_escaped_and_headlines_are_capped(tmp_path: Path) -> None:
    evidence = pd.DataFrame([{
        "id": "1", "claim": "<script>alert(1)</script> satisfied stay", "test": "t", "estimate": 0.9,
        "ci_low": 0.8, "ci_high": 0.95, "unit": "odds ratio", "verdict": "supported", "rule": "r", "n": 10,
        "note": "",
    }])
    _write(tmp_path, "04_loyalty_metrics", {}, evidence=evidence)
    suite = load_suite_results(tmp_path)
    html = evidence_html(suite)
    assert "<script>" not in html and "&lt;script&gt;" in html and "0.90 (0.80 to 0.95) odds ratio" in html
    lines = headlines(suite)
    assert sum(line.startswith("Satisfaction, loyalty and effort:") for line in lines) == 2
    assert "could not be assessed" in retention_vs_acquisition_text(suite)


def test_cell_size_suppression(tmp_path: Path) -> None:
    table = pd.DataFrame({"group": ["a", "b"], "clv": [1.0, 2.0], "ci_low": [0.5, 1.5], "ci_high": [1.5, 2.5],
                          "n": [9, 500]})
    _write(tmp_path, "05_retention_economics", {}, clv_by_contract=table)
    suite = load_suite_results(tmp_path)
    assert suite.table("05_retention_economics", "clv_by_contract", min_cell_size=10)["group"].tolist() == ["b"]


def test_sampled_analyses_are_listed_with_their_sample_size(tmp_path: Path) -> None:
    res = Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x")
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(1000)]})
    res.approximate("Time-varying Cox model", sample_customers(frame, 200, seed=0))
    res.approximate("Kaplan-Meier curves", sample_customers(frame, None))
    res.write(tmp_path)
    (line,) = approximations(load_suite_results(tmp_path))
    assert line == "How long customers stay, Time-varying Cox model: 200 of 1,000 customers (20%)"


def test_clv_tile_falls_back_to_the_purchase_model_on_purchase_logs(tmp_path: Path) -> None:

    _write(tmp_path, "05_retention_economics",
           {"btyd_clv_per_customer": Estimate(24.59, "USD", "Residual CLV per customer", 23.0, 26.0)})
    html = kpi_tiles_html(load_suite_results(tmp_path))
    assert "24.59" not in html and "25 USD" in html and "Remaining value of a current customer (purchase model)" in html
    # Tiles show only figures that exist: no placeholder for the five this run lacks.
    assert html.count("font-size:26px") == 1 and "n/a" not in html
