"""Notebook 02's sections on a base larger than its caps: the known-truth section samples its person-month model
and records the sample under "approximations"."""

from __future__ import annotations

import json

from cxresearch.data.simulate import simulate
from cxresearch.report.churn_sections import prepare, truth_section
from cxresearch.report.results import Results


def test_truth_section_records_its_person_month_sample(tmp_path) -> None:
    world = simulate(n_customers=3000, months=24, seed=5)
    (tmp_path / "truth.json").write_text(json.dumps(world.truth))
    results = Results(notebook="02_churn_drivers", parameters={}, data_fingerprint="x")
    inputs = prepare(world.to_cxdata(), results, "", 3, 3, seed=1, max_model_customers=1200)
    check = truth_section(inputs, results, str(tmp_path), truth_customers=3000)
    assert check is not None and check.hazard_sample.n_used == 1200
    recorded = {a["analysis"]: a for a in results.approximations}["known truth: person-month hazard model"]
    assert (recorded["n_used"], recorded["n_total"], recorded["seed"]) == (1200, 3000, 1)
    # without a cap nothing is sampled, so nothing is stated
    results = Results(notebook="02_churn_drivers", parameters={}, data_fingerprint="x")
    truth_section(prepare(world.to_cxdata(), results, "", 3, 3), results, str(tmp_path), truth_customers=3000)
    assert not results.approximations
