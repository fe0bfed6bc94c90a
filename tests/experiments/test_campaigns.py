"""Campaigns of a dataset's treatments table: churn campaigns against hand-computed churn shares and restricted
mean lifetimes, skips with reasons, and Hillstrom through the adapter equal to the experiments package's own
Hillstrom analysis (whose effects tests/experiments/test_hillstrom.py pins to the raw file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from cxresearch.data.load import load_source
from cxresearch.data.schema import TEXT_DTYPE, CXData
from cxresearch.experiments.analysis import (
    COST_ASSUMED,
    COST_FROM_DATA,
    ExperimentsResult,
    analyse_campaign,
    analyse_experiments,
    parse_allocation,
)
from cxresearch.experiments.hillstrom import hillstrom_effects, hillstrom_experiment, load_hillstrom
from cxresearch.report.record.experiments import record_experiments
from cxresearch.report.results import Results

HILLSTROM = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "hillstrom"
ASSIGNED, UNTIL = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31")
DAY = 30.4375  # days per month


def _world(n: int = 400, seed: int = 1) -> tuple[CXData, np.ndarray, np.ndarray]:
    """Customers assigned 2023-01-01 and followed two years; treated ones leave later. Returns the data, the
    months from assignment to leaving (inf = stayed) and the arms."""
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "treatment", "control")
    months = np.where(rng.random(n) < np.where(arm == "treatment", 0.25, 0.40), rng.integers(1, 30, n), np.inf)
    ids = pd.Series([f"C{i:04d}" for i in range(n)], dtype=TEXT_DTYPE)
    end = [ASSIGNED + pd.Timedelta(days=round(m * DAY)) if np.isfinite(m) else pd.NaT for m in months]
    end = pd.Series(end, dtype="datetime64[ns]").where(lambda s: s <= UNTIL)
    customers = pd.DataFrame({"customer_id": ids, "signup_date": ASSIGNED - pd.Timedelta(days=400), "end_date": end,
                              "monthly_margin": 10.0 + np.arange(n) % 3,
                              "plan": pd.Series(np.where(np.arange(n) % 3 == 0, "basic", "plus"), dtype=TEXT_DTYPE)})
    treatments = pd.DataFrame({"customer_id": ids, "campaign": pd.Series(["offer"] * n, dtype=TEXT_DTYPE),
                               "assigned_at": ASSIGNED, "arm": pd.Series(arm, dtype=TEXT_DTYPE)})
    empty = pd.DataFrame({"customer_id": pd.Series([], dtype=TEXT_DTYPE)})
    data = CXData(customers, empty, empty, UNTIL, treatments=treatments)
    return data, np.where(end.isna(), np.inf, (end - ASSIGNED).dt.days / DAY), arm


def test_churn_campaign_against_hand_computed_shares_and_rmst() -> None:
    data, months, arm = _world()
    analysis = analyse_campaign(data, "offer", cost_per_contact=1.0, horizon_months=12, n_boot=20,
                                learner=LogisticRegression(max_iter=500), folds=2)
    table = analysis.effects_table().set_index(["outcome", "segment", "arm"])
    churned = months <= 12
    expected = churned[arm == "treatment"].mean() - churned[arm == "control"].mean()
    assert table.loc[("churned", "all", "treatment"), "difference"] == pytest.approx(expected, abs=1e-12)
    # every customer is followed the full 12 months, so the RMST is the mean of min(lifetime, 12) per arm
    rmst = np.minimum(months, 12)
    assert analysis.rmst.estimate("treatment").value == pytest.approx(
        rmst[arm == "treatment"].mean() - rmst[arm == "control"].mean(), abs=1e-9)
    margin = data.customers["monthly_margin"].to_numpy()
    value = (margin * rmst)
    assert table.loc[("margin_in_horizon", "all", "treatment"), "difference"] == pytest.approx(
        value[arm == "treatment"].mean() - value[arm == "control"].mean(), abs=1e-9)
    assert set(table.index.get_level_values("segment")) == {"all", "basic", "plus"}
    assert analysis.srm.chi2 == 0.0 and len(analysis.targeting) == 1
    assert analysis.data.covariates == ["plan", "monthly_margin", "tenure_months"]


def test_policy_cost_says_whether_it_came_from_the_data_or_was_assumed() -> None:
    data, _, arm = _world()
    options = {"cost_per_contact": 1.0, "horizon_months": 12, "n_boot": 10, "folds": 2,
               "learner": LogisticRegression(max_iter=500)}
    assumed = analyse_campaign(data, "offer", **options).targeting[0].policies
    assert (assumed.cost, assumed.cost_source) == (1.0, COST_ASSUMED)
    assert assumed.cost_text == f"cost 1 {data.currency} per contact, {COST_ASSUMED}"
    data.treatments["cost"] = np.where(arm == "treatment", 3.0, 0.0)  # the holdout costs nothing
    analysis = analyse_campaign(data, "offer", **options)
    measured = analysis.targeting[0].policies
    assert (measured.cost, measured.cost_source) == (3.0, COST_FROM_DATA)
    table = analysis.policy_table()
    assert (table["cost_per_contact"] == 3.0).all() and (table["cost_source"] == COST_FROM_DATA).all()
    results = Results("09_experiments", {}, "x")
    record_experiments(results, ExperimentsResult([analysis], []))
    note = results.estimates["experiment_offer_treatment_best_policy_profit"].note
    assert note.endswith(f"cost 3 {data.currency} per contact, from the treatments table's cost column")
    rmst = results.estimates["experiment_offer_treatment_rmst_difference"]
    assert rmst.label.startswith("offer: RMST difference")  # the executive table names the campaign
    # what the executive chart draws: the effect on churn in the horizon beside the best policy's profit
    assert results.extra["experiment_headlines"] == [{
        "campaign": "offer", "arm": "treatment", "outcome": "churn within 12 months",
        "effect": "experiment_offer_treatment_churned_effect", "profit": "experiment_offer_treatment_best_policy_profit",
        "policy": measured.best}]


def test_horizon_shortened_to_follow_up_and_recent_assignments_left_out() -> None:
    data, _months, arm = _world()
    late = np.arange(len(arm)) >= 360  # assigned 3 months before the end of observation
    data.treatments.loc[late, "assigned_at"] = UNTIL - pd.Timedelta(days=91)
    cd = analyse_campaign(data, "offer", cost_per_contact=1.0, horizon_months=36, n_boot=10,
                          learner=LogisticRegression(max_iter=500), folds=2).data
    # the longest follow-up every arm has (729 days, 23.95 months), down to a tenth of a month
    assert cd.horizon == pytest.approx(np.floor((UNTIL - ASSIGNED).days / DAY * 10) / 10) == pytest.approx(23.9)
    followed = cd.frame["followed"].to_numpy()
    # late customers who did not leave within their three months cannot say whether they churned in 24
    assert (~followed).sum() == ((cd.frame["event"] == 0) & late).sum() > 0
    assert f"{(~followed).sum():,} customers assigned less than that" in cd.notes[0]


def test_skips_without_treatments_and_for_campaigns_without_a_comparison() -> None:
    data, _, _ = _world(40)
    no_treatments = CXData(data.customers, data.contacts, data.surveys, UNTIL)
    result = analyse_experiments(no_treatments, cost_per_contact=1.0)
    assert result.campaigns == [] and [(s.analysis, s.needs) for s in result.skipped] == [
        ("experiments", "treatment assignments")]
    results = Results("09_experiments", {}, "x")
    record_experiments(results, result)
    assert results.skipped == [{"analysis": "experiments", "reason": "the data has no treatments table (no campaign "
                                "assignments)", "needs": "treatment assignments"}]
    data.treatments["arm"] = "offer"
    skip = analyse_experiments(data, cost_per_contact=1.0).skipped
    assert [(s.analysis, s.reason) for s in skip] == [
        ("campaign offer", "campaign offer has one arm only (offer): nothing to compare with")]
    data.treatments["arm"] = np.where(np.arange(40) % 2, "a", "b")
    assert "no arm named control" in analyse_experiments(data, cost_per_contact=1.0).skipped[0].reason
    data.treatments["arm"] = np.where(np.arange(40) % 2, "treatment", "control")
    small = analyse_experiments(data, cost_per_contact=1.0).skipped
    assert [(s.analysis, s.needs) for s in small] == [("campaign offer: uplift targeting: treatment", "more customers")]


def test_parse_allocation() -> None:
    assert parse_allocation("treatment:9, control:1") == {"treatment": 9.0, "control": 1.0}
    assert parse_allocation(" ") is None
    with pytest.raises(ValueError, match="arm:weight"):
        parse_allocation("treatment=9")


@pytest.mark.shared
@pytest.mark.skipif(not (HILLSTROM / "hillstrom.csv").is_file(), reason=f"Hillstrom data not found at {HILLSTROM}")
def test_hillstrom_through_the_adapter_equals_the_package() -> None:
    data = load_source(f"hillstrom:{HILLSTROM}")
    frame = load_hillstrom(HILLSTROM)
    options = {"learner": LogisticRegression(max_iter=500), "folds": 2, "n_boot": 50}
    result = analyse_experiments(data, cost_per_contact=0.10, **options)
    [analysis] = result.campaigns
    reference = hillstrom_experiment(frame, arm="mens_email", **options)
    for ours, theirs in zip(analysis.effects, hillstrom_effects(frame, segment="zip_code"), strict=True):
        pd.testing.assert_frame_equal(ours.table, theirs.table)
    assert analysis.srm.chi2 == reference.srm.chi2
    pd.testing.assert_frame_equal(analysis.balance.table, reference.balance.table)
    mens = analysis.targeting[0]
    assert mens.arm == "mens_email" and mens.n_test == reference.targeting.n_test
    pd.testing.assert_frame_equal(mens.policies.table, reference.targeting.policies.table)
    pd.testing.assert_frame_equal(mens.summary(), reference.targeting.summary())
    # what the notebook records: effects in percentage points (visit) and USD (spend), the best policy's profit
    results = Results("09_experiments", {}, "x")
    record_experiments(results, result, currency="USD")
    raw = pd.read_csv(HILLSTROM / "hillstrom.csv").groupby("segment")[["visit", "spend"]].mean()
    visit = results.estimates["experiment_hillstrom_email_mens_email_visit_effect"]
    assert visit.value == pytest.approx(100 * (raw.loc["Mens E-Mail", "visit"] - raw.loc["No E-Mail", "visit"]))
    assert visit.unit == "percentage points"
    spend = results.estimates["experiment_hillstrom_email_womens_email_spend_effect"]
    assert spend.value == pytest.approx(raw.loc["Womens E-Mail", "spend"] - raw.loc["No E-Mail", "spend"])
    assert spend.unit == "USD"
    best = results.estimates["experiment_hillstrom_email_mens_email_best_policy_profit"]
    assert best.value == reference.targeting.policies.table["profit_per_customer"].max()
    gain = results.estimates["experiment_hillstrom_email_mens_email_best_policy_gain_over_everyone"]
    assert gain.value == pytest.approx(best.value - reference.targeting.policies.estimate("everyone").value)
    assert set(results.tables) == {"experiment_effects", "experiment_policies", "experiment_qini", "experiment_checks"}
