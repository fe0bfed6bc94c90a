"""Tests for cxresearch.survival.lifetime (the lifetime notebook's steps and their sampling) and for what
`report.record.lifetime` records from them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.schema import CXData
from cxresearch.data.simulate import simulate
from cxresearch.features.snapshot import lifetimes
from cxresearch.report.record import lifetime as record
from cxresearch.report.results import Results
from cxresearch.survival import landmark as lm
from cxresearch.survival import lifetime as lr
from cxresearch.survival.columns import FROM_ENTRY
from cxresearch.survival.compare import compare_groups
from cxresearch.survival.kaplan_meier import kaplan_meier
from cxresearch.survival.landmark import RESIDUAL, landmark_cohort


@pytest.fixture(scope="module")
def world() -> CXData:
    return simulate(3000, 24, seed=5).to_cxdata()


@pytest.fixture(scope="module")
def experience(world: CXData) -> lm.LandmarkComparisons:
    return lm.compare_at_landmark(world, months_before_end=9, window_months=3)


def _results() -> Results:
    return Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x")


def test_landmark_comparisons_match_a_direct_computation(world: CXData, experience: lm.LandmarkComparisons) -> None:
    landmark = pd.Timestamp(world.observed_until) - pd.DateOffset(months=9)
    assert experience.landmark == landmark.normalize()
    cohort = landmark_cohort(world, experience.landmark, 3)
    assert len(experience.cohort.customers) == len(cohort.customers)
    assert experience.follow_months == pytest.approx(min(9, round(float(cohort.customers["residual_months"].max()), 1)))
    assert set(experience.comparisons) == set(lm.EXPERIENCE_GROUPINGS) and experience.missing == {}
    direct = compare_groups(cohort.customers, "nps_group", experience.follow_months, columns=RESIDUAL,
                            at_risk_step=3, reference="detractor")
    pd.testing.assert_frame_equal(experience.comparisons["nps_group"].rmst_difference.summary(),
                                  direct.rmst_difference.summary())
    assert set(experience.summary().index.get_level_values("grouping")) == set(lm.EXPERIENCE_GROUPINGS)


def test_landmark_groupings_the_data_cannot_form_are_listed_and_skipped(world: CXData) -> None:
    no_surveys = dataclasses.replace(world, surveys=world.surveys.iloc[:0])
    experience = lm.compare_at_landmark(no_surveys, 9)
    assert list(experience.comparisons) == ["unresolved_contact"]
    assert experience.missing == {"nps_group": "the data has no NPS scores",
                                  "effort_band": "the data has no effort scores (CES)"}
    results = _results()
    record.record_landmark_groups(results, experience)
    assert [(s["analysis"], s["needs"]) for s in results.skipped] == [
        ("lifetime by nps group", "NPS scores"), ("lifetime by effort band", "effort scores (CES)")]
    assert "rmst_diff_unresolved_contact_no" in results.estimates
    nothing = lm.compare_at_landmark(dataclasses.replace(no_surveys, contacts=world.contacts.iloc[:0]), 9)
    assert nothing.cohort is None and nothing.comparisons == {} and len(nothing.missing) == 3
    assert lr.fit_landmark_cox(no_surveys, nothing) is None


def test_landmark_cox_on_a_sample_says_so(world: CXData, experience: lm.LandmarkComparisons) -> None:
    full = lr.fit_landmark_cox(world, experience)
    assert not full.sample.sampled and full.model.n == len(experience.cohort.customers) and full.notes() == []
    part = lr.fit_landmark_cox(world, experience, max_customers=800, seed=1)
    assert part.sample.n_used == 800 and part.sample.n_total == len(experience.cohort.customers)
    assert part.model.n == 800
    assert "800 of" in part.notes()[0]
    results = _results()
    record.record_landmark_cox(results, part)
    assert [a["analysis"] for a in results.approximations] == [lr.LandmarkCox.ANALYSIS]
    assert results.estimates["hr_unresolved_90d"].n == 800
    assert results.tables["ph_check"] and results.tables["hazard_ratios"]
    # the check's table stays; its verdicts reach the findings only through `record_ph_verdict`
    assert not [f for f in results.findings if "proportional hazards" in f or "changes over time" in f]
    empty = _results()
    record.record_landmark_cox(empty, None)
    assert empty.skipped == [{"analysis": "landmark Cox model", "reason": "the data has no contact records",
                              "needs": "contact records"}]


def test_extrapolation_records_the_notebook_keys_and_its_sample(world: CXData) -> None:
    lt = lifetimes(world)
    full = lr.extrapolate_lifetime(lt, "contract", 60, n_draws=50)
    assert not full.sample.sampled and set(full.tails) == {"weibull", "lognormal", "loglogistic"}
    # the best model's mean tail is the mean of its own extrapolation table
    assert full.tails[full.aft.best] == pytest.approx(full.table["rmst"].mean())
    part = lr.extrapolate_lifetime(lt, "contract", 60, n_draws=50, max_customers=1000)
    assert part.sample.n_used == 1000
    results = _results()
    record.record_extrapolation(results, part)
    groups = sorted(lt["contract"].unique())
    assert sorted(k for k in results.estimates if k.startswith("aft_rmst60_")) == [f"aft_rmst60_{g}" for g in groups]
    assert results.findings[0].startswith(f"Extrapolated with the best-fitting {part.aft.best} model")
    assert results.approximations[0]["n_used"] == 1000


def test_overall_and_segment_records_keep_the_keys_the_summary_reads(world: CXData) -> None:
    lt = lifetimes(world)
    km = kaplan_meier(lt, columns=FROM_ENTRY)
    results = _results()
    record.record_overall_lifetime(results, km)
    assert results.estimates["median_lifetime_months"].value == pytest.approx(km.medians["median"].iloc[0])
    assert {"survival_12m_all", "survival_24m_all"} <= set(results.estimates)
    record.record_segment_lifetimes(results, lr.compare_segments(lt, "contract", 24))
    assert {"km_by_contract", "rmst_by_contract", "pairwise_logrank_by_contract"} <= set(results.tables)
    assert results.extra["logrank"]["dof"] == lt["contract"].nunique() - 1
    record.record_segment_lifetimes(results, lr.compare_segments(lt, "region_x", 24))
    assert results.skipped[-1] == {"analysis": "lifetime by region_x", "reason": "the data has no region_x column",
                                   "needs": "segments"}


def test_time_varying_and_recovery_skips_carry_their_reason() -> None:
    results = _results()
    record.record_time_varying(results, None, "the contacts carry no timestamps")
    record.record_lifetime_recovery(results, None)
    assert results.skipped[0] == {"analysis": "time-varying Cox model", "reason": "the contacts carry no timestamps",
                                  "needs": "event dates"}
    assert results.skipped[1]["analysis"] == "known-truth check"
    assert np.all([not results.estimates, not results.approximations])


@pytest.mark.parametrize("months", [6, 8])
def test_a_short_history_moves_the_landmark_into_the_window_and_says_so(months: int) -> None:
    short = simulate(1500, months, seed=2).to_cxdata()
    start = pd.Timestamp(short.metadata["observed_from"])
    experience = lm.compare_at_landmark(short, months_before_end=12, window_months=3)
    # Three months of history before the landmark, the rest of the window after it.
    assert experience.landmark == start + pd.DateOffset(months=3)
    assert experience.comparisons and "rather than 12" in experience.note
    assert experience.follow_months == pytest.approx(months - 3, abs=0.1)


def test_a_window_too_short_for_any_landmark_is_skipped_with_its_reason() -> None:
    short = simulate(500, 5, seed=2).to_cxdata()
    experience = lm.compare_at_landmark(short, months_before_end=12, window_months=3)
    assert experience.landmark is None and experience.cohort is None
    assert experience.why_not == ("the data covers 5 months; a landmark needs 3 months of history before it and 3 "
                                  "months of follow-up after it")
    results = _results()
    record.record_landmark_groups(results, experience)
    record.record_landmark_cox(results, lr.fit_landmark_cox(short, experience), experience)
    assert [s["needs"] for s in results.skipped] == ["more history", "more history"]


def test_one_segment_value_is_not_compared_and_the_reason_names_it(world: CXData) -> None:
    lt = lifetimes(world).assign(contract="month_to_month")
    segments = lr.compare_segments(lt, "contract", 36)
    assert segments.comparison is None
    assert segments.why_not.startswith("only 1 contract value has at least 30 customers (month_to_month: 3,000)")


def test_horizons_beyond_the_data_are_cut_to_it_and_say_so(world: CXData) -> None:
    lt = lifetimes(world)
    follow = float(lt["duration_months"].max())
    assert lr.restricted_mean_horizon(lt, 36) == (36.0, "")
    # Left-truncated customers who joined before observation reach tenures beyond the 24-month window.
    horizon, note = lr.restricted_mean_horizon(lt, 80)
    assert horizon == np.floor(follow) == 59 and note.startswith("Restricted means run to 59 months")
    assert lr.extrapolation_horizon(lt, 120) == (120.0, "")
    cap, note = lr.extrapolation_horizon(lt, 300)
    assert cap == np.ceil(4 * follow) and "4 times the longest follow-up" in note


def test_a_median_not_reached_is_a_lower_bound_in_words() -> None:
    lt = pd.DataFrame({"duration_months": np.r_[np.full(70, 40.0), np.arange(1, 31)],
                       "event": np.r_[np.zeros(70, bool), np.ones(30, bool)], "entry_months": 0.0})
    km = kaplan_meier(lt, columns=FROM_ENTRY)
    results = _results()
    record.record_overall_lifetime(results, km)
    median = results.estimates["median_lifetime_months"]
    assert (median.value, median.bound) == (40.0, "lower")
    assert median.format(1) == "more than 40.0 months (fewer than half have left within the follow-up)"
    assert results.findings[0] == ("Fewer than half of the customers have left within 40 months of follow-up: the "
                                   "median lifetime is more than 40 months.")


def test_data_with_no_recorded_ends_has_no_median_and_says_why(world: CXData) -> None:
    lt = lifetimes(world).assign(event=False)
    results = _results()
    record.record_overall_lifetime(results, kaplan_meier(lt, columns=FROM_ENTRY))
    median = results.estimates["median_lifetime_months"]
    assert not median.estimable and median.reason == lr.NO_ENDS
    assert median.format() == f"not estimable ({lr.NO_ENDS})"
    assert results.skipped[0]["needs"] == "churners" and "survival_12m_all" not in results.estimates


def test_flat_data_states_its_assumption_beside_the_median(world: CXData) -> None:
    results = _results()
    results.extra["assumptions"] = ["Lifetimes assume the churn flag covers the last 3 months."]
    record.record_overall_lifetime(results, kaplan_meier(lifetimes(world), columns=FROM_ENTRY))
    assert results.findings[0].endswith("). Lifetimes assume the churn flag covers the last 3 months.")
