"""What notebook 06 records: its keys on simulated data, the skips with their needs on data without reasons or
without event dates, and the samples."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from cxresearch.data.schema import CXData
from cxresearch.data.simulate import simulate
from cxresearch.report.record.churn_reasons import (
    FINE_GRAY,
    HAZARDS,
    INCIDENCE,
    TIME_VARYING,
    TRUTH,
    record_churn_reasons,
)
from cxresearch.report.results import Results
from cxresearch.survival import churn_reasons as cr


def _results() -> Results:
    return Results(notebook="06_churn_reasons", parameters={}, data_fingerprint="x")


def _record(data: CXData, truth: dict | None, max_customers: int | None = None) -> Results:
    """Every step of the notebook on `data`, recorded."""
    reasons = cr.reason_data(data)
    incidence = cr.overall_incidence(reasons)
    segments, segments_why_not = cr.segment_incidence(reasons, "contract", max_customers)
    hazards, hazards_why_not = cr.cause_specific_hazards(data, reasons, 3, max_customers)
    fine_gray, fine_gray_why_not = cr.service_fine_gray(reasons, max_customers)
    recovery, recovery_why_not, recovery_sample = cr.reason_recovery(data, truth, max_customers)
    results = _results()
    record_churn_reasons(results, reasons, incidence=incidence, segments=segments, segments_why_not=segments_why_not,
                         hazards=hazards, hazards_why_not=hazards_why_not, fine_gray=fine_gray,
                         fine_gray_why_not=fine_gray_why_not, recovery=recovery, recovery_why_not=recovery_why_not,
                         recovery_sample=recovery_sample)
    return results


@pytest.fixture(scope="module")
def world():
    return simulate(4_000, 24, seed=1)


def test_no_reasons_skips_every_analysis_with_its_need() -> None:
    results = _results()
    record_churn_reasons(results, cr.reason_data(simulate(800, 12, seed=2, reasons=False).to_cxdata()))
    needs = {s["analysis"]: s["needs"] for s in results.skipped}
    assert {needs[a] for a in (INCIDENCE, HAZARDS, TIME_VARYING, FINE_GRAY)} == {"churn reasons"}
    assert needs["known-truth check of churn reasons"] == "simulated data"
    assert not results.estimates and not results.tables and not results.findings


def test_simulated_world_records_the_keys(world) -> None:
    results = _record(world.to_cxdata(), world.truth, max_customers=2_000)
    share = results.estimates["service_churn_share_pct"]
    assert share.unit == "%" and share.ci_low < share.value < share.ci_high
    levels = {"month_to_month", "one_year", "two_year"}
    assert {k for k in results.estimates if k.startswith("service_churn_share_pct[")} == {
        f"service_churn_share_pct[{lv}]" for lv in levels}
    table = results.tables["churn_by_reason"]
    assert {r["group"] for r in table} == {"all", *levels} and set(table[0]) == {
        "group", "cause", "months", "cif", "ci_low", "ci_high"}
    # the recorded share is the one the finding states, rounded
    assert re.fullmatch(r"Of customers who left by 48 months, (\d+)% \(95% CI \d+ to \d+\) left for service-related "
                        r"reasons\.", results.findings[0]).group(1) == f"{share.value:.0f}"
    assert results.tables["segment_test"][0]["method"] == "Fine-Gray Wald test"
    assert {r["cause"] for r in results.tables["cause_specific_hazard_ratios"]} >= {"service", "price"}
    assert {"fine_gray_service", "cause_specific_contrast", "reason_recovery"} <= set(results.tables)
    assert not results.skipped
    # 2,000 of 4,000 customers in the hazard and Fine-Gray models, said so
    used = {a["analysis"]: a["n_used"] for a in results.approximations}
    assert used[HAZARDS[0].upper() + HAZARDS[1:]] == 2_000 and used[FINE_GRAY] == 2_000
    # fewer than 2,000 of them left: the known-truth check uses every leaver and states no sample
    assert TRUTH + " of churn reasons" not in used
    assert cr.TRUNCATED_FINE_GRAY in results.warnings


def test_flat_data_skips_the_time_varying_models_only(world) -> None:
    data = world.to_cxdata()
    rng = np.random.default_rng(0)
    customers = data.customers.assign(csat_score=rng.integers(1, 6, len(data.customers)))
    flat = dataclasses.replace(data, customers=customers, contacts=data.contacts.iloc[:0],
                               surveys=data.surveys.iloc[:0], shape="flat")
    results = _record(flat, None)
    assert [s["needs"] for s in results.skipped if s["analysis"] == TIME_VARYING] == ["event dates"]
    assert {s["analysis"] for s in results.skipped} == {TIME_VARYING, "known-truth check of churn reasons"}
    terms = {r["term"] for r in results.tables["cause_specific_hazard_ratios"]}
    assert {"csat_score", "monthly_margin", "contract=two_year"} <= terms


def test_known_truth_check_samples_leavers_above_the_cap_and_says_so(world) -> None:
    data = world.to_cxdata()
    leavers = int(data.customers["end_reason"].notna().sum())
    everyone, _, whole = cr.reason_recovery(data, world.truth)
    recovery, why_not, sample = cr.reason_recovery(data, world.truth, max_customers=600, seed=3)
    assert why_not == "" and not whole.sampled and whole.n_total == leavers > 600
    assert (sample.n_used, sample.n_total, sample.unit) == (600, leavers, "customers who left")
    # the logit rests on the 600: every interval is wider than on all the leavers
    width = (recovery["ci_high"] - recovery["ci_low"]).to_numpy()
    assert (width > (everyone["ci_high"] - everyone["ci_low"]).to_numpy()).all()
    results = _results()
    reasons = cr.reason_data(data)
    record_churn_reasons(results, reasons, incidence=cr.overall_incidence(reasons), recovery=recovery,
                         recovery_sample=sample)
    stated = {a["analysis"]: a for a in results.approximations}[TRUTH + " of churn reasons"]
    assert (stated["n_used"], stated["n_total"]) == (600, leavers)
    assert stated["text"].startswith(f"known-truth check of churn reasons: computed on a simple random sample of 600 "
                                     f"of {leavers:,} customers who left")
