"""Value at stake of CX levers: valuation by hand, scenarios, E-values, skips, ranking, recording and the chart."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxresearch.data.simulate import simulate
from cxresearch.economics import value_at_stake as vas
from cxresearch.economics.value_at_stake import value_at_stake
from cxresearch.economics.value_at_stake_model import CellModel, e_value, e_value_ci
from cxresearch.economics.value_at_stake_scenarios import LEVERS, Improvements
from cxresearch.economics.value_at_stake_value import WindowRows, cause_exits, scenario_rate, value_hazards
from cxresearch.errors import NotEstimableError
from cxresearch.plots.value_at_stake import plot_value_at_stake
from cxresearch.report.record.value_at_stake import record_value_at_stake
from cxresearch.report.results import Results
from cxresearch.survival import churn_reasons

LEVER = {lever.key: lever for lever in LEVERS}


@pytest.fixture(scope="module")
def world():
    return simulate(3_000, 18, seed=4, reasons=False)


@pytest.fixture(scope="module")
def result(world):
    return value_at_stake(world.to_cxdata(), window_months=6, n_boot=30, max_model_customers=None, seed=0)


def test_e_value_by_hand():
    assert e_value(2.0) == pytest.approx(2.0 + np.sqrt(2.0))
    assert e_value(0.5) == pytest.approx(2.0 + np.sqrt(2.0))  # protective effects are inverted first
    assert e_value_ci(0.8, 1.2) == 1.0
    assert e_value_ci(1.5, 2.5) == pytest.approx(1.5 + np.sqrt(1.5 * 0.5))
    assert e_value_ci(0.4, 0.8) == pytest.approx(1.25 + np.sqrt(1.25 * 0.25))


def test_value_hazards_by_hand():
    # customer a: window months 1 and 2; customer b: month 2 only; monthly hazard 0.1; horizon 4 months
    rows = WindowRows(customer=np.array([0, 0, 1]), step=np.array([1, 2, 2]), margin=np.array([10.0, 20.0]),
                      ids=np.array(["a", "b"]), window_months=2, horizon_months=4, monthly_discount_rate=0.1)
    eta = np.full(3, np.log(-np.log(0.9)))
    out = value_hazards(rows, eta, retention=0.5)
    assert out.churn == pytest.approx([1 - 0.81, 0.1])
    x = 0.5 / 1.1  # kept and discounted per month beyond the window, two months to the horizon
    a = 10 * (0.9 / 1.1 + 0.81 / 1.1**2) + 10 * 0.81 / 1.1**2 * (x + x**2)
    b = 20 * 0.9 / 1.1**2 + 20 * 0.9 / 1.1**2 * (x + x**2)
    assert out.margin == pytest.approx([a, b])


def test_scenarios_change_the_drivers_as_stated():
    frame = pd.DataFrame({"ces_centred_90d": [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0], "unresolved_90d": [0, 1, 2, 0, 1, 3],
                          "proactive_90d": [1, 0, 0, 2, 0, 1], "inconsistency_90d": [0, 0, 1, 2, 0, 0]})
    effort = LEVER["effort"]
    assert effort.full(frame)["ces_centred_90d"].tolist() == [-1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    every_high = Improvements(effort_points=1.0, effort_top_share=1.0)
    assert effort.realistic(frame, every_high)["ces_centred_90d"].tolist() == [-1.0, 0.0, 0.0, 0.0, 1.0, 2.0]
    assert effort.realistic(frame, Improvements())["ces_centred_90d"].tolist() == [-1.0, 0.0, 0.5, 1.0, 2.0, 2.0]
    assert LEVER["follow_up"].full(frame)["proactive_90d"].tolist() == [1, 1, 2, 2, 1, 4]
    assert LEVER["follow_up"].realistic(frame, Improvements(follow_up_share=0.5))["proactive_90d"].tolist() == [
        1, 0.5, 1, 2, 0.5, 2.5]
    assert LEVER["unresolved"].realistic(frame, Improvements())["unresolved_90d"] == pytest.approx(
        [0, 0.9, 1.8, 0, 0.9, 2.7])
    assert LEVER["inconsistency"].full(frame)["inconsistency_90d"].tolist() == [0] * 6


def test_result_table_and_joint_estimates(result):
    table = result.summary().set_index(["lever", "kind"])
    assert list(result.summary()["lever"].unique()) == ["unresolved", "effort", "inconsistency", "follow_up", "joint"]
    full = table.xs("full", level="kind")
    assert (full["churners_avoided_ci_low"] <= full["churners_avoided"]).all()
    assert (full["churners_avoided"] <= full["churners_avoided_ci_high"]).all()
    # realistic improvements are a fraction of the full removal
    realistic = table.xs("realistic", level="kind")
    assert (realistic["margin_retained"] < full["margin_retained"]).all()
    # a 6-month window annualises by 2; the churn share is avoided / factual churners
    joint = table.loc[("joint", "joint")]
    estimates = result.to_estimates()
    assert estimates["bad_service_cost_annual"].value == pytest.approx(2 * joint["margin_retained"])
    assert estimates["bad_service_churn_share_pct"].value == pytest.approx(
        100 * joint["churners_avoided"] / result.factual_churners)
    assert estimates["bad_service_cost_annual"].ci_low < estimates["bad_service_cost_annual"].value
    # the follow-up lever is protective: hazard ratio below 1, E-value from its inverse
    follow = full.loc["follow_up"]
    assert follow["hazard_ratio"] < 1 and follow["e_value"] == pytest.approx(e_value(1 / follow["hazard_ratio"]))


def test_flat_data_is_skipped_for_lack_of_event_dates(tiny):
    with pytest.raises(NotEstimableError) as err:
        value_at_stake(dataclasses.replace(tiny, shape="flat"), n_boot=0)
    assert err.value.needs == "event dates"


def test_a_lever_the_data_lacks_is_skipped_with_its_input_named(world):
    data = world.to_cxdata()
    contacts = data.contacts.assign(reason=data.contacts["reason"].replace("channel_inconsistency", "billing"))
    out = value_at_stake(dataclasses.replace(data, contacts=contacts), n_boot=0, max_model_customers=None)
    assert "inconsistency" not in set(out.table["lever"])
    needs = {analysis: need for analysis, _, need in out.skipped}
    assert needs["value at stake: channel inconsistency"] == "channel-inconsistency records"
    assert "value at stake: detractor nps" in needs


def _with_realistic_margins(result, values: list[float], lows: list[float], highs: list[float]):
    """`result` with the realistic scenarios' margin retained (and its CI) replaced, in lever order."""
    table = result.table.copy()
    realistic = table["kind"] == "realistic"
    table.loc[realistic, "margin_retained"] = values
    table.loc[realistic, "margin_retained_ci_low"] = lows
    table.loc[realistic, "margin_retained_ci_high"] = highs
    return dataclasses.replace(result, table=table)


def test_ranking_says_when_the_order_is_not_established(result):
    ranked = _with_realistic_margins(result, [100.0, 300.0, 290.0, 10.0], [80.0, 250.0, 240.0, 5.0],
                                     [120.0, 350.0, 330.0, 15.0])
    assert list(ranked.ranking()["lever"]) == ["effort", "inconsistency", "unresolved", "follow_up"]
    sentence = ranked.ranking_sentence()
    assert ("The order of High effort (CES 5-7) and Channel inconsistency is not established: their 95% intervals "
            "overlap") in sentence
    assert sentence.count(" and ") == 1  # the other neighbours' intervals do not overlap


def test_recorded_keys_and_chart(result):
    results = Results("08_value_at_stake", {}, "")
    record_value_at_stake(results, result, recovery=None)
    assert {"bad_service_cost_annual", "bad_service_churn_share_pct"} <= set(results.estimates)
    assert results.estimates["bad_service_cost_annual"].unit == result.currency
    assert {"lever", "scenario", "churners_avoided", "churners_avoided_ci_low", "churners_avoided_ci_high",
            "margin_retained", "margin_retained_ci_low", "margin_retained_ci_high", "e_value"} <= set(
        results.tables["value_at_stake"][0])
    assert [r["lever"] for r in results.tables["value_at_stake_ranking"]] == list(result.ranking()["lever"])
    assert any(s["needs"] == "simulated data" for s in results.skipped if "needs" in s)
    ax = plot_value_at_stake(result)
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == pytest.approx(sorted(result.ranking()["margin_retained_annual"]))
    plt.close(ax.figure)


def test_nothing_recorded_but_the_skip_when_not_estimable():
    results = Results("08_value_at_stake", {}, "")
    record_value_at_stake(results, None, failure=NotEstimableError("one row per customer", "event dates"))
    assert results.skipped == [{"analysis": "value at stake of CX levers", "reason": "one row per customer",
                                "needs": "event dates"}]
    assert not results.estimates


def test_ranking_when_every_neighbour_overlaps(result):
    sentence = _with_realistic_margins(result, [40.0, 30.0, 20.0, 10.0], [25.0, 15.0, 5.0, 0.0],
                                       [55.0, 45.0, 35.0, 25.0]).ranking_sentence()
    assert sentence.endswith("The order is not established: each lever's 95% interval overlaps the next one's.")


def test_as_of_ends_the_window_and_the_fit_at_that_month(world):
    # the world runs 18 months from 2023-01-01; as of 2024-01-01 only months 0-11 are used
    out = value_at_stake(world.to_cxdata(), window_months=6, n_boot=0, max_model_customers=None, as_of="2024-01-01")
    assert out.window["month"].min() == 6 and out.window["month"].max() == 11
    assert out.rows.window_months == 6 and np.isnan(out.table["churners_avoided_ci_low"]).all()


def test_two_causes_combine_and_one_cause_exits_by_hand():
    # one customer, two window months; all-cause monthly hazard 0.3, of which a third is service-related
    rows = WindowRows(customer=np.array([0, 0]), step=np.array([1, 2]), margin=np.array([1.0]), ids=np.array(["a"]),
                      window_months=2, horizon_months=2, monthly_discount_rate=0.0)
    eta = np.full(2, np.log(-np.log(0.7)))
    share = np.full(2, 1 / 3)
    assert scenario_rate(eta, share, eta, share) == pytest.approx(-np.log([0.7, 0.7]))
    # the scenario halves the service hazard (0.1 -> 0.05) and keeps the other exits' 0.2: 0.25 a month
    counter = np.full(2, np.log(-np.log(0.9)))
    assert -np.expm1(-scenario_rate(eta, share, counter, np.full(2, 0.5))) == pytest.approx([0.25, 0.25])
    # on all churn the scenario's hazard is the whole of it
    assert scenario_rate(eta, None, counter, None) == pytest.approx(-np.log([0.9, 0.9]))
    assert value_hazards(rows, eta, 0.5).churn == pytest.approx([1 - 0.7**2])
    # service exits: 0.1 in month 1, then 0.7 x 0.1 in month 2
    assert cause_exits(rows, eta, np.full(2, 0.1)) == pytest.approx([0.1 + 0.07])


@pytest.fixture(scope="module")
def with_reasons():
    return simulate(3_000, 18, seed=4, reasons=True).to_cxdata()


def test_levers_act_on_service_churn_where_reasons_exist(with_reasons, result):
    out = value_at_stake(with_reasons, window_months=6, n_boot=10, max_model_customers=None, seed=0)
    assert out.basis == "service" and result.basis == "all"
    assert any(n.startswith("churn modelled: service-related exits only") for n in out.notes)
    # the same world's tables without reasons give the all-cause figures exactly
    assert out.factual_churners == pytest.approx(result.factual_churners, rel=0.02)
    joint, joint_all = (r.table.set_index("lever").loc["joint"] for r in (out, result))
    assert 0 < joint["churners_avoided"] < joint_all["churners_avoided"]
    # competing risks: some of the customers kept from service churn still leave for another reason
    assert joint["churners_avoided"] < out.service_exits_avoided < 1.2 * joint["churners_avoided"]
    assert any(n.startswith("competing risks: with all service failures removed") for n in out.notes)
    assert "service-related churn" in out.to_estimates()["bad_service_cost_annual"].note
    results = Results("08_value_at_stake", {}, "")
    record_value_at_stake(results, out)
    assert results.extra["value_at_stake_basis"] == "service"
    assert results.extra["value_at_stake_method"].startswith("Churn here is service-related churn")


def test_the_service_reason_and_its_minimum_are_notebook_06s():
    assert (vas.SERVICE, vas.MIN_EVENTS) == (churn_reasons.SERVICE, churn_reasons.MIN_EVENTS)


def test_all_cause_when_asked_or_without_reasons(with_reasons):
    asked = value_at_stake(with_reasons, window_months=6, n_boot=0, max_model_customers=None, by_reason=False)
    assert asked.basis == "all" and any("(asked for)" in n for n in asked.notes)
    customers = with_reasons.customers.assign(end_reason=pd.NA)
    none = value_at_stake(dataclasses.replace(with_reasons, customers=customers), window_months=6, n_boot=0,
                          max_model_customers=None)
    assert none.basis == "all" and any("no reason for leaving" in n for n in none.notes)
    assert none.table["churners_avoided"].tolist() == pytest.approx(asked.table["churners_avoided"].tolist())


def test_all_churn_instead_when_the_service_model_cannot_be_fitted():
    # 400 customers: too few service-related exits for every segment, so the service model has no finite optimum
    small = simulate(400, 24, seed=3).to_cxdata()
    out = value_at_stake(small, n_boot=0, max_model_customers=None)
    assert out.basis == "all" and out.service_exits_avoided is None
    assert any("the model of service-related exits cannot be fitted" in n for n in out.notes)
    assert not any(n.startswith("churn modelled: service-related") for n in out.notes)
    asked = value_at_stake(small, n_boot=0, max_model_customers=None, by_reason=False)
    assert out.table["churners_avoided"].tolist() == pytest.approx(asked.table["churners_avoided"].tolist())


def test_a_bootstrap_draw_without_a_driver_keeps_its_coefficient_and_refits_the_rest():
    # the inconsistency driver is carried by one customer only; a draw without her cannot estimate it (a singular
    # information matrix used to drop the draw, on thin data most of them): its coefficient stays as fitted
    rng = np.random.default_rng(0)
    n, months = 400, 6
    long = pd.DataFrame({"customer_id": np.repeat(np.arange(n), months), "tenure": np.tile(np.arange(1, 7), n)})
    unresolved = rng.poisson(0.5, len(long)).astype(float)
    long["event"] = rng.random(len(long)) < -np.expm1(-np.exp(-3.0 + 0.4 * unresolved))
    design = pd.DataFrame({"unresolved_90d": unresolved, "inconsistency_90d": 0.0}, index=long.index)
    design.loc[long["customer_id"] == 7, "inconsistency_90d"] = 1.0
    model = CellModel.from_design(long, design, time_bands=(1,))
    point = model.fit()
    weights = np.ones(n)
    weights[7] = 0.0
    refit = model.fit(weights, start=point.beta)
    assert refit.coef["inconsistency_90d"] == pytest.approx(point.coef["inconsistency_90d"])
    free = CellModel.from_design(long[long["customer_id"] != 7], design.loc[long["customer_id"] != 7,
                                                                           ["unresolved_90d"]], time_bands=(1,))
    assert refit.coef["unresolved_90d"] == pytest.approx(free.fit().coef["unresolved_90d"], abs=1e-4)
