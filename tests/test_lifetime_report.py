"""Tests for cxresearch.lifetime_report: the lifetime notebook's steps, their sampling and what they record."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cxresearch import lifetime_report as lr
from cxresearch.features import lifetimes
from cxresearch.results import Results
from cxresearch.schema import CXData
from cxresearch.simulate import simulate
from cxresearch.survival import compare_groups, kaplan_meier, landmark_cohort


@pytest.fixture(scope="module")
def world() -> CXData:
    return simulate(3000, 24, seed=5).to_cxdata()


@pytest.fixture(scope="module")
def experience(world: CXData) -> lr.LandmarkComparisons:
    return lr.compare_at_landmark(world, months_before_end=9, window_months=3)


def _results() -> Results:
    return Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x")


def test_landmark_comparisons_match_a_direct_computation(world: CXData, experience: lr.LandmarkComparisons) -> None:
    landmark = pd.Timestamp(world.observed_until) - pd.DateOffset(months=9)
    assert experience.landmark == landmark.normalize()
    cohort = landmark_cohort(world, experience.landmark, 3)
    assert len(experience.cohort) == len(cohort)
    assert experience.follow_months == pytest.approx(min(9, round(float(cohort["residual_months"].max()), 1)))
    assert set(experience.comparisons) == set(lr.EXPERIENCE_GROUPINGS) and experience.missing == {}
    direct = compare_groups(cohort, "nps_group", experience.follow_months, duration="residual_months",
                            at_risk_step=3, reference="detractor")
    pd.testing.assert_frame_equal(experience.comparisons["nps_group"].rmst_difference, direct.rmst_difference)
    assert set(experience.summary().index.get_level_values("grouping")) == set(lr.EXPERIENCE_GROUPINGS)


def test_landmark_groupings_the_data_cannot_form_are_listed_and_skipped(world: CXData) -> None:
    no_surveys = dataclasses.replace(world, surveys=world.surveys.iloc[:0])
    experience = lr.compare_at_landmark(no_surveys, 9)
    assert list(experience.comparisons) == ["unresolved_contact"]
    assert experience.missing == {"nps_group": "surveys", "effort_band": "surveys"}
    results = _results()
    lr.record_landmark_groups(results, experience)
    assert [s["analysis"] for s in results.skipped] == ["lifetime by nps_group", "lifetime by effort_band"]
    assert "rmst_diff_unresolved_contact_no" in results.estimates
    nothing = lr.compare_at_landmark(dataclasses.replace(no_surveys, contacts=world.contacts.iloc[:0]), 9)
    assert nothing.cohort is None and nothing.comparisons == {} and len(nothing.missing) == 3
    assert lr.fit_landmark_cox(no_surveys, nothing) is None


def test_landmark_cox_on_a_sample_says_so(world: CXData, experience: lr.LandmarkComparisons) -> None:
    full = lr.fit_landmark_cox(world, experience)
    assert not full.sample.sampled and full.model.n == len(experience.cohort) and full.notes() == []
    part = lr.fit_landmark_cox(world, experience, max_customers=800, seed=1)
    assert part.sample.n_used == 800 and part.sample.n_total == len(experience.cohort)
    assert part.model.n == 800
    assert "800 of" in part.notes()[0]
    results = _results()
    lr.record_landmark_cox(results, part)
    assert [a["analysis"] for a in results.approximations] == [lr.LandmarkCox.ANALYSIS]
    assert results.estimates["hr_unresolved_90d"].n == 800
    assert results.tables["ph_check"] and results.tables["hazard_ratios"]
    empty = _results()
    lr.record_landmark_cox(empty, None)
    assert empty.skipped == [{"analysis": "landmark Cox model", "reason": "the data has no contacts"}]


def test_extrapolation_records_the_notebook_keys_and_its_sample(world: CXData) -> None:
    lt = lifetimes(world)
    full = lr.extrapolate_lifetime(lt, "contract", 60, n_draws=50)
    assert not full.sample.sampled and set(full.tails) == {"weibull", "lognormal", "loglogistic"}
    # the best model's mean tail is the mean of its own extrapolation table
    assert full.tails[full.aft.best] == pytest.approx(full.table["rmst"].mean())
    part = lr.extrapolate_lifetime(lt, "contract", 60, n_draws=50, max_customers=1000)
    assert part.sample.n_used == 1000
    results = _results()
    lr.record_extrapolation(results, part)
    groups = sorted(lt["contract"].unique())
    assert sorted(k for k in results.estimates if k.startswith("aft_rmst60_")) == [f"aft_rmst60_{g}" for g in groups]
    assert results.findings[0].startswith(f"Extrapolated with the best-fitting {part.aft.best} model")
    assert results.approximations[0]["n_used"] == 1000


def test_overall_and_segment_records_keep_the_keys_the_summary_reads(world: CXData) -> None:
    lt = lifetimes(world)
    km = kaplan_meier(lt, entry="entry_months")
    results = _results()
    lr.record_overall(results, km)
    assert results.estimates["median_lifetime_months"].value == pytest.approx(km.medians["median"].iloc[0])
    assert {"survival_12m_all", "survival_24m_all"} <= set(results.estimates)
    lr.record_segments(results, compare_groups(lt, "contract", 24, entry="entry_months"), "contract")
    assert {"km_by_contract", "rmst_by_contract", "pairwise_logrank_by_contract"} <= set(results.tables)
    assert results.extra["logrank"]["dof"] == lt["contract"].nunique() - 1
    lr.record_segments(results, None, "region_x")
    assert results.skipped[-1] == {"analysis": "lifetime by region_x", "reason": "the data has no region_x column"}


def test_time_varying_and_recovery_skips_carry_their_reason() -> None:
    results = _results()
    lr.record_time_varying(results, None, "the contacts carry no timestamps")
    lr.record_recovery(results, None)
    assert results.skipped[0] == {"analysis": "time-varying Cox model", "reason": "the contacts carry no timestamps"}
    assert results.skipped[1]["analysis"] == "known-truth check"
    assert np.all([not results.estimates, not results.approximations])
