"""Simulated campaigns: off by default and leaving the world untouched, randomised from their own stream, valid
treatments tables, and effects that are heterogeneous the way the design says (harm, futility at high risk)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.load import load_source
from cxresearch.data.simulate import SimulatedWorld, simulate, write_simulation, write_world
from cxresearch.data.simulate_campaigns import CAMPAIGNS, campaign_log_hr, campaigns_for
from cxresearch.truth.campaigns import true_campaign_effects

TABLES = ("customers", "contacts", "surveys")


@pytest.fixture(scope="module")
def world() -> SimulatedWorld:
    """A 6,000-customer, 24-month world with campaigns (follow-up in month 4, offer in month 12)."""
    return simulate(6_000, 24, seed=5, campaigns=True)


def test_without_campaigns_the_world_is_value_for_value_the_default_one() -> None:
    default, off = simulate(2_500, 15, seed=9), simulate(2_500, 15, seed=9, campaigns=False)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(default, name), getattr(off, name))
    assert default.truth == off.truth and "campaigns" not in off.truth and off.treatments is None


def test_campaigns_change_nothing_before_the_first_assignment(world: SimulatedWorld) -> None:
    plain = simulate(6_000, 24, seed=5)
    first = world.treatments["assigned_at"].min()
    for frame in (world, plain):
        assert frame.customers["signup_date"].is_monotonic_increasing
    pd.testing.assert_series_equal(world.customers["signup_date"], plain.customers["signup_date"])
    before = [w.contacts[w.contacts["timestamp"] < first].reset_index(drop=True) for w in (world, plain)]
    pd.testing.assert_frame_equal(*before)
    ended = [w.customers["end_date"].where(w.customers["end_date"] < first) for w in (world, plain)]
    pd.testing.assert_series_equal(*ended)


def test_assignment_is_random_with_the_designed_shares(world: SimulatedWorld) -> None:
    t = world.treatments
    for design in CAMPAIGNS:
        rows = t[t["campaign"] == design.name]
        share = (rows["arm"] == "treatment").mean()
        se = np.sqrt(design.treated_share * (1 - design.treated_share) / len(rows))
        assert abs(share - design.treated_share) < 4 * se, (design.name, share)
        assert rows["assigned_at"].nunique() == 1
        treated = rows["arm"] == "treatment"
        assert (rows.loc[treated, "cost"] == design.cost).all() and (rows.loc[~treated, "cost"] == 0).all()
        # randomised: the traits recorded at assignment do not differ between arms beyond chance
        for trait in ("covariate_tenure_months", "covariate_effort", "covariate_unresolved_90d"):
            x1, x0 = rows.loc[treated, trait], rows.loc[~treated, trait]
            assert abs(x1.mean() - x0.mean()) < 4 * np.sqrt(x1.var() / len(x1) + x0.var() / len(x0)), trait
    follow, offer = (t[t["campaign"] == d.name] for d in CAMPAIGNS)
    # the offer goes to the riskier half of those at risk: more unresolved contacts than the whole base
    assert offer["covariate_unresolved_90d"].mean() > 1.5 * follow["covariate_unresolved_90d"].mean()


def test_assignments_come_from_their_own_stream(world: SimulatedWorld) -> None:
    again = simulate(6_000, 24, seed=5, campaigns=True)
    pd.testing.assert_frame_equal(world.treatments, again.treatments)
    other = simulate(6_000, 24, seed=6, campaigns=True)
    assert not world.treatments["arm"].equals(other.treatments["arm"].iloc[:len(world.treatments)])


def test_written_world_loads_with_a_valid_treatments_table(world: SimulatedWorld, tmp_path) -> None:
    data = load_source(str(write_world(world, tmp_path)))
    assert len(data.treatments) == len(world.treatments)
    assert set(data.treatments["campaign"]) == {d.name for d in CAMPAIGNS}
    assert "treatments" in data.capabilities
    # the intended allocation travels with the data, for the sample-ratio test
    assert data.metadata["campaign_allocation"]["retention_offer"] == {"treatment": 0.8, "control": 0.2}


def test_effects_follow_the_design_and_are_heterogeneous(world: SimulatedWorld) -> None:
    t, truth = world.treatments, world.truth["campaigns"]
    for design in CAMPAIGNS:
        rows = t[t["campaign"] == design.name].rename(columns=lambda c: c.removeprefix("covariate_"))
        recorded = np.asarray(truth[design.name]["customers"]["log_hazard_ratio"])
        np.testing.assert_allclose(recorded, campaign_log_hr(design, rows), atol=1e-6)
    offer = true_campaign_effects(world.truth, "retention_offer", 12)
    # the offer raises churn for some customers and lowers it on average
    assert 0.05 < (offer["churn_effect"] > 0).mean() < 0.5 and offer["churn_effect"].mean() < -0.02
    # retention futility: the riskiest decile (by churn without the offer) is not the most persuadable
    decile = pd.qcut(offer["churn_control"], 10, labels=False)
    by_decile = offer.groupby(decile)["churn_effect"].mean()
    assert by_decile.iloc[-1] > by_decile.min() + 0.02, by_decile


@pytest.mark.parametrize(("months", "requested", "runs", "noted"), [
    (8, None, True, False), (6, None, False, True), (6, False, False, False), (12, False, False, False),
    (8, True, True, False)])
def test_a_world_too_short_for_campaigns_drops_them_with_a_note(months: int, requested: bool | None, runs: bool,
                                                               noted: bool) -> None:
    campaigns, note = campaigns_for(months, requested)
    assert campaigns is runs and bool(note) is noted
    with pytest.raises(ValueError, match="at least 8 months of observation, not 7"):
        campaigns_for(7, requested=True)
    with pytest.raises(ValueError, match="at least 8 months"):
        simulate(n_customers=50, months=7, campaigns=True)


@pytest.mark.parametrize("chunk", [400, 150])
def test_the_note_reaches_dataset_json_whole_or_in_chunks(tmp_path, chunk: int) -> None:
    _, note = campaigns_for(6)
    write_simulation(tmp_path, chunk_customers=chunk, notes=[note], n_customers=300, months=6)
    assert json.loads((tmp_path / "dataset.json").read_text())["notes"] == [note]
    assert load_source(tmp_path).metadata["notes"] == [note]
