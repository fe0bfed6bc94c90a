"""Tests for the one proportional-hazards verdict per term (survival.ph_verdicts and combine_ph_checks, and the
lifetime report's step that records it)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from test_survival import simulate_non_ph
from test_tenure_ph import constructed_person_months, fading

from cxresearch.data.simulate import simulate
from cxresearch.report.record import lifetime as record
from cxresearch.report.results import Results
from cxresearch.survival import landmark as lm
from cxresearch.survival import lifetime as lr
from cxresearch.survival.cox import check_proportional_hazards, fit_cox
from cxresearch.survival.ph import (
    PH_CHANGES,
    PH_CONSTANT,
    PH_STALE,
    PH_UNTESTED,
    combine_ph_checks,
    ph_verdicts,
)
from cxresearch.survival.timevarying import check_tenure_proportional_hazards, fit_time_varying_drivers


def test_the_rule_on_a_hand_made_table():
    nan = np.nan
    tests = pd.DataFrame(
        {"p_landmark": [0.001, 0.001, 0.001, 0.030, 0.2, nan, nan, 0.004],
         "p_tenure": [0.5, 0.5, nan, 0.9, 0.001, 0.6, nan, 0.003],
         "hr_before": [1.30, 1.30, 0.80, nan, nan, nan, nan, 1.5],
         "hr_after": [1.05, 1.60, 1.30, nan, nan, nan, nan, 1.1]},
        index=pd.Index(["stale", "grows", "reverses", "weak", "tenure_only", "quiet", "untested", "both"],
                       name="term"))
    out = ph_verdicts(tests, measured_once=["stale", "grows", "reverses", "both"])
    # Holm over the 12 p-values of both checks, sorted 0.001 (4x), 0.003, 0.004, 0.03, 0.2, 0.5, 0.5, 0.6, 0.9:
    # the k-th smallest times (12 - k + 1), kept non-decreasing
    assert out.loc["stale", "p_landmark_holm"] == pytest.approx(12 * 0.001)  # rank 1; ranks 2-4 give less
    assert out.loc["tenure_only", "p_tenure_holm"] == pytest.approx(12 * 0.001)
    assert out.loc["both", "p_tenure_holm"] == pytest.approx(8 * 0.003)
    assert out.loc["both", "p_landmark_holm"] == pytest.approx(7 * 0.004)
    assert out.loc["weak", "p_landmark_holm"] == pytest.approx(6 * 0.03)
    assert np.isnan(out.loc["untested", "p_landmark_holm"]) and np.isnan(out.loc["untested", "p_tenure_holm"])
    assert out["verdict"].to_dict() == {
        "stale": PH_STALE,  # measured once, landmark flag only, 1.30 -> 1.05 moves towards 1
        "grows": PH_CHANGES,  # 1.30 -> 1.60: staleness cannot make an effect grow
        "reverses": PH_CHANGES,  # 0.80 -> 1.30 moves further from 1: |log 1.30| > |log 0.80|
        "weak": PH_CONSTANT,  # unadjusted 0.03 would flag; adjusted 0.18 does not
        "tenure_only": PH_CHANGES,  # the tenure check decides
        "quiet": PH_CONSTANT,
        "untested": PH_UNTESTED,
        "both": PH_CHANGES,  # the tenure check flags it, whatever the landmark split shows
    }
    # the same landmark flag on a trait not measured once is a change, not staleness
    assert ph_verdicts(tests, measured_once=[]).loc["stale", "verdict"] == PH_CHANGES


def stale_covariate_world(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A world whose hazard is proportional in the *current* contact count, seen two ways.

    Contacts arrive Poisson(0.3) a month; x_m counts those in the 3 months before month m; monthly cloglog hazard
    -3.5 + 0.5 x_m + 0.4 z (z a fixed binary trait). Returns the landmark cohort (x and z as at the landmark,
    months to churn after it, censored at 24) and the person-months (x as it stood each month, tenure = months
    since sign-up, which was 1-24 months before the landmark)."""
    rng = np.random.default_rng(seed)
    contacts = rng.poisson(0.3, (n, 27))  # 3 months before the landmark, then 24 after
    z = (rng.random(n) < 0.5).astype(float)
    tenure0 = rng.integers(1, 25, n)
    alive, duration, event, frames = np.ones(n, bool), np.full(n, 24.0), np.zeros(n, bool), []
    for m in range(24):
        idx = np.flatnonzero(alive)
        x = contacts[idx, m:m + 3].sum(axis=1).astype(float)
        churn = rng.random(len(idx)) < -np.expm1(-np.exp(-3.5 + 0.5 * x + 0.4 * z[idx]))
        duration[idx[churn]] = m + rng.random(churn.sum())  # churn within the month, at a continuous time
        event[idx[churn]], alive[idx[churn]] = True, False
        frames.append(pd.DataFrame({"customer_id": idx, "tenure": tenure0[idx] + m + 1, "event": churn, "x": x,
                                    "z": z[idx]}))
    cohort = pd.DataFrame({"duration_months": duration, "event": event, "x": contacts[:, :3].sum(axis=1), "z": z})
    return cohort, pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def stale_world():
    cohort, long = stale_covariate_world(6000, seed=3)
    return check_proportional_hazards(fit_cox(cohort, ["x", "z"])), check_tenure_proportional_hazards(long, ["x", "z"])


def test_a_driver_measured_once_fades_after_the_landmark_and_is_not_a_violation(stale_world):
    landmark, tenure = stale_world
    # the landmark check flags x (its count at the landmark says nothing about churn 3 months on); the tenure
    # check, with x re-measured every month, does not: the hazard is proportional in the current count
    assert landmark.violated == ["x"] and tenure.violated == []
    verdict = combine_ph_checks(landmark, tenure, measured_once=["x"], labels={"x": "contacts"})
    table = verdict.table
    split = landmark.summary().loc["x"]
    # after the cut (8 months) the landmark count has aged out of every window: its true hazard ratio there is 1
    assert landmark.cut_months >= 3 and split["hr_ci_low_after"] < 1 < split["hr_ci_high_after"]
    assert table.loc["x", "hr_after"] < table.loc["x", "hr_before"] and table.loc["x", "fades"]
    assert verdict.changes == [] and verdict.terms_with(PH_STALE) == ["x"]
    assert verdict.terms_with(PH_CONSTANT) == ["z"]
    assert verdict.n_tests == 4 and table.loc["x", "p_landmark_holm"] == pytest.approx(
        min(1.0, 4 * table.loc["x", "p_landmark"]))
    # the person-month hazard ratio of the current count is the truth, exp(0.5), at every tenure
    for t in (6, 24):
        assert tenure.tests.loc["x", f"hr_ci_low_at_{t}"] < np.exp(0.5) < tenure.tests.loc["x", f"hr_ci_high_at_{t}"]
    first, stale = verdict.sentences()
    assert first.startswith("No hazard ratio changes over the lifetime: none of 2 terms is flagged")
    assert "4 tests of the landmark and tenure checks Holm-adjusted together, family-wise 5%" in first
    assert stale == ("Contacts fades after the landmark only because it was measured once there and the "
                     "measurement "
                     "goes stale with follow-up (a stale covariate, not a proportional-hazards violation).")
    # without knowing that x was measured once, the same landmark flag is a change over the lifetime
    assert combine_ph_checks(landmark, tenure).changes == ["x"]


def test_a_fading_effect_over_tenure_is_flagged_with_its_ratios():
    long = constructed_person_months(8000, seed=1, log_hr_x=fading)
    tenure = check_tenure_proportional_hazards(long, ["x", "z"])
    verdict = combine_ph_checks(None, tenure)
    assert verdict.changes == ["x"] and verdict.terms_with(PH_CONSTANT) == ["z"]
    assert verdict.n_tests == 2 and verdict.cut_months is None
    r = verdict.table.loc["x"]
    (sentence,) = verdict.sentences()
    assert sentence == (f"X: its hazard ratio changes with tenure (Holm-adjusted p = {r['p_tenure_holm']:.2g}, "
                        f"person-month check): {r['hr_at_6']:.2f} at 6 months of tenure, {r['hr_at_24']:.2f} "
                        "at 24; "
                        "read its ratios by tenure, not one ratio for the whole lifetime.")
    # truth: HR 1.84 at 6 months, 1.21 at 24 (tests/test_tenure_ph.py)
    assert abs(r["hr_at_6"] - 1.84) < 0.2 and abs(r["hr_at_24"] - 1.21) < 0.15


def test_a_fixed_trait_whose_effect_ends_is_flagged_by_the_landmark_check_alone():
    # x triples the hazard for 10 months, then has no effect; fixed at entry, so not staleness
    landmark = check_proportional_hazards(fit_cox(simulate_non_ph(), ["x", "z"]), cut_months=10)
    verdict = combine_ph_checks(landmark, None)
    assert verdict.changes == ["x"] and verdict.terms_with(PH_CONSTANT) == ["z"] and verdict.tenures is None
    r = verdict.table.loc["x"]
    assert 2.5 < r["hr_before"] < 3.5 and 0.8 < r["hr_after"] < 1.25  # truth: 3 before the cut, 1 after
    assert verdict.sentences() == [
        (f"X: its hazard ratio changes over time (Holm-adjusted p = {r['p_landmark_holm']:.2g}, landmark check): "
         f"{r['hr_before']:.2f} in the first 10 months after the landmark, {r['hr_after']:.2f} later; read its "
         "ratios by period, not one ratio for the whole lifetime.")]
    assert combine_ph_checks(None, None) is None


@pytest.fixture(scope="module")
def proportional_world():
    """The demo simulator (proportional hazards in every driver by construction), smaller, with the demo seed."""
    world = simulate(6000, 24, seed=0).to_cxdata()
    experience = lm.compare_at_landmark(world, 12, 3)
    landmark = lr.fit_landmark_cox(world, experience)
    tv = fit_time_varying_drivers(world, 3, ph_form="log")
    return landmark, tv


def test_a_proportional_world_gives_no_flag_at_the_adjusted_level(proportional_world):
    landmark, tv = proportional_world
    verdict = lr.ph_verdict(landmark, tv)
    # unadjusted, the landmark check alone flags unresolved contacts (p = 0.008): the contradiction this replaces
    assert landmark.check.tests.loc["unresolved_90d", "p_value"] < 0.05
    assert verdict.changes == [], verdict.summary()
    assert verdict.n_tests == len(landmark.check.tests) + len(tv.ph.tests)
    # whatever the landmark check flags here is a driver measured once at the landmark, fading towards 1
    stale = verdict.terms_with(PH_STALE)
    assert set(stale) <= set(lr.LANDMARK_MEASURED_ONCE)
    assert set(landmark.check.violated) == set(stale)
    results = Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x")
    record.record_landmark_cox(results, landmark)
    record.record_tenure_ph(results, tv)
    record.record_ph_verdict(results, verdict)
    # one set of proportional-hazards findings: the verdicts, no per-check sentences
    ph_findings = [f for f in results.findings if "hazard ratio changes" in f or "proportional" in f]
    assert ph_findings == verdict.sentences()
    assert ph_findings[0].startswith("No hazard ratio changes over the lifetime")
    assert {"ph_check", "ph_check_tenure", "ph_verdict"} <= set(results.tables)
    assert results.extra["ph_verdict"]["multiple_testing"] == "holm over both checks"
    assert results.extra["ph_verdict"]["n_tests"] == verdict.n_tests


def test_a_switched_off_tenure_check_leaves_the_landmark_check_to_decide(proportional_world):
    landmark, tv = proportional_world
    verdict = lr.ph_verdict(landmark, dataclasses.replace(tv, ph=None))
    assert verdict.tenures is None and verdict.n_tests == len(landmark.check.tests)
    assert verdict.changes == [] and "of the landmark check Holm-adjusted" in verdict.sentences()[0]
    assert lr.ph_verdict(None, None) is None
    results = Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x")
    record.record_ph_verdict(results, None)
    assert results.findings == [] and results.skipped == [] and "ph_verdict" not in results.tables
