"""Tests for cxresearch.survival.timevarying: person-months counted by hand, hazard ratios recovered on simulated worlds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.schema import CXData
from cxresearch.data.simulate import simulate
from cxresearch.report.record.lifetime import record_tenure_ph, record_time_varying
from cxresearch.report.results import Results
from cxresearch.survival.lifetime import PH_SWITCHED_OFF
from cxresearch.data.out_of_core import bounded_duckdb
from cxresearch.survival import person_months as person_months_module
from cxresearch.survival.person_months import (
    CES_DRIVER,
    COUNT_DRIVERS,
    can_build_person_months,
    person_months,
)
from cxresearch.survival.timevarying import (
    TimeVaryingDrivers,
    fit_person_month_cloglog,
    fit_time_varying_cox,
    fit_time_varying_drivers,
)
from cxresearch.truth.recovery import recovery_table, true_hazard_ratios


@pytest.fixture
def tiny() -> CXData:
    """Observation Jan-Jun 2024. A joined Nov 2023 (left-truncated), churned in Mar; B joined Jan 15, censored."""
    customers = pd.DataFrame({
        "customer_id": ["A", "B"],
        "signup_date": pd.to_datetime(["2023-11-20", "2024-01-15"]),
        "end_date": pd.to_datetime(["2024-03-10", None]),
        "monthly_margin": [10.0, 20.0],
        "contract": ["m2m", "annual"],
    })
    contacts = pd.DataFrame({
        "contact_id": ["k1", "k2", "k3", "k4"],
        "customer_id": ["A", "A", "B", "B"],
        "timestamp": pd.to_datetime(["2024-01-05", "2024-02-07", "2024-02-01", "2024-05-20"]),
        "channel": ["phone", "app", "chat", "email"],
        "direction": ["reactive", "proactive", "reactive", "reactive"],
        "reason": ["channel_inconsistency", "follow_up", "billing", "billing"],
        "resolved_first_contact": pd.array([False, pd.NA, True, False], dtype="boolean"),
    })
    surveys = pd.DataFrame({
        "customer_id": ["A", "B", "B"],
        "timestamp": pd.to_datetime(["2024-01-05 10:00", "2024-02-01 10:00", "2024-03-03 00:00"]),
        "instrument": ["ces", "ces", "nps"],
        "score": [6, 2, 9],
        "contact_id": ["k1", "k3", None],
    })
    return CXData(customers, contacts, surveys, observed_until=pd.Timestamp("2024-07-01"),
                  metadata={"observed_from": "2024-01-01"})


def test_person_months_match_hand_count(tiny):
    pm = person_months(tiny).table.set_index(["customer_id", "month"])
    # A: signup month Nov 2023 = -2; at risk Jan (0), Feb (1), Mar (2, churn); tenure 2, 3, 4
    a = pm.loc["A"]
    assert a.index.tolist() == [0, 1, 2]
    assert a["tenure"].tolist() == [2, 3, 4] and a["start"].tolist() == [1.0, 2.0, 3.0]
    assert a["event"].tolist() == [False, False, True]
    # the January contact counts from February on (window: the 3 months before the month at risk)
    assert a["reactive_90d"].tolist() == [0, 1, 1]
    assert a["unresolved_90d"].tolist() == [0, 1, 1]
    assert a["inconsistency_90d"].tolist() == [0, 1, 1]
    assert a["proactive_90d"].tolist() == [0, 0, 1]
    assert a[CES_DRIVER].tolist() == [0.0, 2.0, 2.0]  # CES 6 - 4
    # B: signup Jan 15 (month 0): at risk Feb..Jun, censored
    b = pm.loc["B"]
    assert b.index.tolist() == [1, 2, 3, 4, 5] and not b["event"].any()
    # Feb contact in the windows of Mar, Apr, May; the May contact in June's
    assert b["reactive_90d"].tolist() == [0, 1, 1, 1, 1]
    # June: the unanswered May email has no answered (unresolved, email) cell: overall mean answer (6 + 2) / 2 = 4
    assert b[CES_DRIVER].tolist() == [0.0, -2.0, -2.0, -2.0, 0.0]
    # NPS answered Mar 3 counts from April on
    assert b["nps_last"].isna().tolist() == [True, True, False, False, False]
    assert b["nps_group"].tolist()[2:] == ["promoter"] * 3


def test_unanswered_ces_is_imputed_from_its_resolution_and_channel_cell(tiny):
    # a second unresolved phone contact of A in January, unanswered: imputed with the cell mean (6)
    tiny.contacts = pd.concat([tiny.contacts, pd.DataFrame({
        "contact_id": ["k5"], "customer_id": ["A"], "timestamp": pd.to_datetime(["2024-01-06"]), "channel": ["phone"],
        "direction": ["reactive"], "reason": ["billing"], "resolved_first_contact": pd.array([False], dtype="boolean"),
    })], ignore_index=True)
    months = person_months(tiny)
    pm = months.table.set_index(["customer_id", "month"])
    assert pm.loc[("A", 1), "reactive_90d"] == 2
    assert pm.loc[("A", 1), CES_DRIVER] == pytest.approx(2.0)
    assert any("imputed" in note for note in months.notes)


def test_person_months_run_in_a_bounded_duckdb_that_spills(tiny, monkeypatch):
    """DuckDB's own default (80% of the machine) let a 1M-customer table fail under a 12 GiB cap; 4 GB spills."""
    settings = []

    def spy():
        con = bounded_duckdb()
        settings.append(con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')")
                        .fetchall()[0])
        return con

    monkeypatch.setattr(person_months_module, "bounded_duckdb", spy)
    person_months(tiny)
    assert len(settings) == 1 and settings[0][0] == "3.7 GiB" and settings[0][1].endswith("cxresearch-duckdb")


def test_no_contacts_is_reported_not_raised(tiny):
    tiny.contacts = tiny.contacts.iloc[0:0]
    ok, reason = can_build_person_months(tiny)
    assert not ok and "contacts" in reason


@pytest.fixture(scope="module")
def world():
    return simulate(6000, 24, seed=3, effects={"proactive": -0.5})


def test_time_varying_cox_recovers_simulated_hazard_ratios(world):
    pm = person_months(world.to_cxdata()).table
    tv = fit_time_varying_cox(pm, [*COUNT_DRIVERS, CES_DRIVER], ["contract", "plan"])
    rec = recovery_table(tv.recovery_estimates(), true_hazard_ratios(world.truth), "hazard_ratio").set_index("name")
    assert set(rec.index) >= {*COUNT_DRIVERS, "ces_mean_90d", "contract[two_year]"}
    assert rec["truth_in_ci"].all(), rec[~rec["truth_in_ci"]]
    assert rec.loc["proactive_90d", "ci_high"] < 0.75  # exp(-0.5) = 0.61, clearly below 1
    # the exact grouped-time model agrees with the Efron-tie Cox fit
    glm = fit_person_month_cloglog(pm, [*COUNT_DRIVERS, CES_DRIVER], ["contract", "plan"])
    assert np.allclose(glm.table["coef"], tv.table.loc[glm.table.index, "coef"], atol=0.02)
    assert tv.events == int(pm["event"].sum()) and tv.n_episodes == len(pm)


def test_no_effect_world_gives_interval_around_one():
    world = simulate(6000, 24, seed=5, effects={"proactive": 0.0})
    pm = person_months(world.to_cxdata()).table
    tv = fit_time_varying_cox(pm, [*COUNT_DRIVERS, CES_DRIVER], ["contract", "plan"])
    row = tv.table.loc["proactive_90d"]
    assert row["hr_ci_low"] < 1.0 < row["hr_ci_high"]


def test_person_months_of_chosen_customers_are_the_full_table_restricted_to_them(world):
    data = world.to_cxdata()
    full = person_months(data).table
    ids = data.customers["customer_id"].sample(400, random_state=1).tolist()
    part = person_months(data, customer_ids=ids).table
    expected = full[full["customer_id"].isin(ids)].reset_index(drop=True)
    # every column but the window CES, whose imputation cell means are those of the chosen customers' contacts
    columns = [c for c in full.columns if c != CES_DRIVER]
    pd.testing.assert_frame_equal(part[columns], expected[columns])
    unlinked = dataclasses.replace(data, surveys=data.surveys.drop(columns="contact_id"))
    answered_only = person_months(unlinked, customer_ids=ids)
    assert answered_only.notes[0].startswith("window CES: mean of the CES answers")


def test_time_varying_drivers_on_a_random_sample_recover_the_truth_and_say_so(world):
    data = world.to_cxdata()
    tv = fit_time_varying_drivers(data, 3, max_customers=3000, seed=2)
    assert (tv.sample.n_used, tv.sample.n_total) == (3000, len(data.customers))
    assert tv.cox.n_customers <= 3000 and tv.cloglog.n_episodes == tv.cox.n_episodes
    rec = recovery_table(tv.cox.recovery_estimates(), true_hazard_ratios(world.truth), "hazard_ratio")
    assert rec["truth_in_ci"].sum() >= len(rec) - 1, rec
    assert rec["same_direction"].all()
    assert tv.notes()[-1] == tv.sample.describe(TimeVaryingDrivers.ANALYSIS)
    assert list(tv.summary().columns)[-1] == "hr_cloglog" and set(tv.nps_summary().index) <= {
        "nps_group=detractor", "nps_group=passive", "nps_group=promoter", "nps_group=no answer"}
    results = Results(notebook="03", parameters={}, data_fingerprint="x")
    record_time_varying(results, tv)
    findings_before_ph = list(results.findings)
    assert results.approximations[0]["n_used"] == 3000
    assert results.estimates["tv_hr_proactive_90d"].n == tv.cox.n_customers
    # the proportional-hazards check over tenure runs on the same sampled person-months and says so
    assert (tv.ph.n_episodes, tv.ph.events) == (tv.cloglog.n_episodes, tv.cloglog.events)
    assert list(tv.ph.tests.index) == tv.cloglog.terms
    record_tenure_ph(results, tv)
    assert results.approximations[-1]["analysis"] == tv.ph.ANALYSIS and results.approximations[-1]["n_used"] == 3000
    assert len(results.tables["ph_check_tenure"]) == len(tv.ph.tests)
    assert results.estimates["tv_ph_drift_proactive_90d"].unit == "ratio"
    assert results.extra["ph_check_tenure_joint"]["multiple_testing"] == "holm"
    # the check's verdicts reach the results only through the combined verdict (tests/test_ph_verdict.py)
    assert results.findings == findings_before_ph
    skipped = Results(notebook="03", parameters={}, data_fingerprint="x")
    record_tenure_ph(skipped, None, "the contacts carry no timestamps")
    assert skipped.skipped == [{"analysis": tv.ph.ANALYSIS, "reason": "the contacts carry no timestamps",
                                "needs": "event dates"}]
    record_tenure_ph(skipped, dataclasses.replace(tv, ph=None))
    assert skipped.skipped[-1]["reason"] == PH_SWITCHED_OFF
