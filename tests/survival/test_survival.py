"""Tests for cxresearch.survival (Kaplan-Meier, RMST, log-rank, Cox, PH check, landmark): numbers checked against hand computation and simulated truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from cxresearch.survival.columns import FROM_ENTRY
from cxresearch.survival.compare import logrank
from cxresearch.survival.cox import fit_cox
from cxresearch.survival.kaplan_meier import kaplan_meier, rmst

# Tiny hand-counted example: 10 customers, months and churn flags.
TINY_T = [1, 2, 2, 3, 5, 6, 7, 8, 12, 14]
TINY_E = [1, 1, 0, 1, 0, 1, 1, 0, 1, 0]


@pytest.fixture
def tiny() -> pd.DataFrame:
    return pd.DataFrame({"duration_months": TINY_T, "event": np.array(TINY_E, dtype=bool)})


def tiny_survival() -> dict[float, float]:
    """Hand product-limit: (n at risk, churned) at each churn time."""
    s, out = 1.0, {0.0: 1.0}
    for t, n, d in [(1, 10, 1), (2, 9, 1), (3, 7, 1), (6, 5, 1), (7, 4, 1), (12, 2, 1)]:
        s *= 1 - d / n
        out[float(t)] = s
    return out


def simulate_exponential(n: int = 5000, seed: int = 11) -> tuple[pd.DataFrame, dict[str, float]]:
    """Exponential lifetimes, baseline 0.03/month, known log hazard ratios; uniform censoring over 0-48 months."""
    rng = np.random.default_rng(seed)
    truth = {"tickets": np.log(1.25), "plan=plus": np.log(0.7), "plan=pro": np.log(1.4)}
    tickets = rng.poisson(1.5, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    lp = truth["tickets"] * tickets + np.select(
        [plan == "plus", plan == "pro"], [truth["plan=plus"], truth["plan=pro"]], 0.0
    )
    lifetime = rng.exponential(1 / (0.03 * np.exp(lp)))
    censor = rng.uniform(0, 48, n)
    df = pd.DataFrame(
        {
            "duration_months": np.minimum(lifetime, censor),
            "event": lifetime <= censor,
            "tickets": tickets,
            "plan": plan,
            "nps_last": np.where(rng.random(n) < 0.8, np.nan, rng.integers(0, 11, n)),
        }
    )
    return df, truth


def test_km_survival_matches_hand_product_limit(tiny):
    km = kaplan_meier(tiny, min_group_size=1)
    expected = tiny_survival()
    curve = km.survival.set_index("time")["survival"]
    for t, s in expected.items():
        assert curve.loc[t] == pytest.approx(s)
    assert (km.survival["ci_low"] <= km.survival["survival"] + 1e-12).all()
    assert (km.survival["ci_high"] >= km.survival["survival"] - 1e-12).all()


def test_km_at_risk_table_matches_hand_count(tiny):
    table = kaplan_meier(tiny, min_group_size=1, at_risk_step=6).at_risk
    assert table["time"].tolist() == [0, 6, 12, 18]
    assert table["at_risk"].tolist() == [10, 5, 2, 0]
    assert table["events"].tolist() == [0, 4, 6, 6]
    assert table["censored"].tolist() == [0, 2, 3, 4]


def test_km_median_matches_hand_computation(tiny):
    med = kaplan_meier(tiny, min_group_size=1).medians.iloc[0]
    # S(6) = 0.549 > 0.5 and S(7) = 0.411 <= 0.5: the median is 7 months
    assert med["median"] == 7.0
    assert med["reached"]
    assert med["n"] == 10 and med["events"] == 6
    assert med["ci_low"] <= 7.0


def test_km_median_not_reached_is_nan():
    df = pd.DataFrame({"duration_months": np.arange(1, 41), "event": np.arange(40) % 10 == 0})
    med = kaplan_meier(df).medians.iloc[0]
    assert not med["reached"] and np.isnan(med["median"])
    estimate = kaplan_meier(df).to_estimates()["median_lifetime_all"]
    # Not reached: the longest follow-up is a lower bound, said in words.
    assert (estimate.value, estimate.bound, estimate.ci_low) == (40.0, "lower", None)
    assert estimate.format(0) == "more than 40 months (fewer than half have left within the follow-up)"


def test_survival_at_and_beyond_follow_up(tiny):
    at = kaplan_meier(tiny, min_group_size=1).survival_at([6, 12, 36]).set_index("months")
    assert at.loc[6, "survival"] == pytest.approx(tiny_survival()[6.0])
    assert at.loc[12, "survival"] == pytest.approx(tiny_survival()[12.0])
    assert np.isnan(at.loc[36, "survival"])  # beyond the last follow-up (14 months): not identified


def test_small_groups_dropped_with_note():
    df, _ = simulate_exponential(n=400)
    df.loc[df.index[:10], "plan"] = "legacy"
    km = kaplan_meier(df, group="plan")
    assert "legacy" not in km.groups
    assert any("legacy (n=10)" in note for note in km.notes)
    assert set(km.summary().index) == set(km.groups)


def test_rmst_equals_area_under_hand_step_curve(tiny):
    s = tiny_survival()
    # S is flat between churn times: 1 on [0,1), .9 on [1,2), .8 on [2,3), S(3) on [3,6), S(6) on [6,7), S(7) on [7,10)
    area = 1 + s[1.0] + s[2.0] + 3 * s[3.0] + s[6.0] + 3 * s[7.0]
    out = rmst(tiny, horizon_months=10, min_group_size=1).table
    assert out["rmst"].iloc[0] == pytest.approx(area)
    assert out["ci_low"].iloc[0] < area < out["ci_high"].iloc[0]


def test_rmst_se_reduces_to_binomial_without_censoring():
    t = np.random.default_rng(3).exponential(10, 500)
    out = rmst(pd.DataFrame({"duration_months": t, "event": True}), horizon_months=15).table
    # without censoring KM is the empirical distribution, so Var(RMST) = Var(min(T, tau)) / n exactly
    assert out["se"].iloc[0] ** 2 == pytest.approx(np.var(np.minimum(t, 15)) / 500, rel=1e-9)


def test_rmst_beyond_follow_up_is_nan_with_note(tiny):
    out = rmst(kaplan_meier(tiny, min_group_size=1), horizon_months=24)
    assert np.isnan(out.summary()["rmst"].iloc[0])
    assert out.notes and "exceeds follow-up" in out.notes[-1]


def test_logrank_detects_difference_and_not_noise():
    df, _ = simulate_exponential(n=3000)
    res = logrank(df, "plan")
    assert res.dof == 2 and res.p_value < 1e-6
    df["coin"] = np.random.default_rng(5).choice(["heads", "tails"], len(df))
    assert logrank(df, "coin").p_value > 0.01
    assert logrank(df, "coin").summary().loc["coin", "dof"] == 1


def test_cox_recovers_known_hazard_ratios():
    df, truth = simulate_exponential()
    cox = fit_cox(df, ["tickets"], categorical=["plan"])
    assert cox.reference_levels == {"plan": "basic"}
    assert set(cox.terms) == set(truth)
    for term, log_hr in truth.items():
        est = cox.hazard_ratio(term)
        assert est.ci_low < np.exp(log_hr) < est.ci_high, term
        assert est.unit == "ratio"
    assert 0.55 < cox.concordance < 0.75
    assert cox.n == 5000 and cox.penalizer == 0.0 and not cox.notes


def test_cox_data_hygiene_notes():
    df, _ = simulate_exponential(n=500)
    df["constant"] = 1.0
    df.loc[df.index[:7], "tickets"] = np.nan
    cox = fit_cox(df, ["tickets", "nps_last", "constant"], categorical=["plan"])
    notes = " ".join(cox.notes)
    assert "nps_last" in notes and "50%" in notes
    assert "dropped 7 of 500" in notes
    assert "constant" in notes
    assert cox.n == 493 and set(cox.terms) == {"tickets", "plan=plus", "plan=pro"}


def test_cox_separation_refits_with_penalizer():
    df, _ = simulate_exponential(n=300)
    df["leaks_outcome"] = df["event"].astype(float)
    cox = fit_cox(df, ["tickets", "leaks_outcome"])
    assert cox.penalizer == 0.1
    assert any("penalizer 0.1" in note for note in cox.notes)
    assert np.isfinite(cox.summary().to_numpy()).all()


def test_cox_ph_test_runs():
    df, _ = simulate_exponential(n=1000)
    ph = fit_cox(df, ["tickets"], categorical=["plan"]).ph_test()
    assert set(ph.index) == {"tickets", "plan=plus", "plan=pro"}
    assert ph["p_value"].between(0, 1).all()


def test_kaplan_meier_agrees_with_lifelines_by_group():
    df, _ = simulate_exponential(n=1000)
    km = kaplan_meier(df, group="plan")
    sub = df[df["plan"] == "pro"]
    ref = KaplanMeierFitter().fit(sub["duration_months"], sub["event"])
    assert km.medians.set_index("group").loc["pro", "median"] == pytest.approx(ref.median_survival_time_)


# --------------------------------------------------------------------------------------------------------------
# Left truncation (delayed entry)
# --------------------------------------------------------------------------------------------------------------


def simulate_truncated(
    n: int = 6000, hazard: float = 0.04, hr: float = 1.0, window: float = 24.0, seed: int = 21
) -> pd.DataFrame:
    """Exponential lifetimes, hazard `hazard` (x `hr` for group b); half signed up up to 36 months before
    observation began and appear only if still active then (entry = tenure at that date), half signed up during
    the `window`-month observation period (entry 0). Follow-up ends with the window."""
    rng = np.random.default_rng(seed)
    grp = rng.choice(["a", "b"], n)
    lifetime = rng.exponential(1 / (hazard * np.where(grp == "b", hr, 1.0)))
    before = rng.random(n) < 0.5
    entry = np.where(before, rng.uniform(0, 36, n), 0.0)
    censor = np.where(before, entry + window, rng.uniform(0, window, n))
    keep = lifetime > entry  # churned before observation began: never seen
    return pd.DataFrame(
        {
            "duration_months": np.minimum(lifetime, censor),
            "event": lifetime <= censor,
            "entry_months": entry,
            "grp": grp,
            "b": (grp == "b").astype(float),
        }
    )[keep].reset_index(drop=True)


def test_km_with_entry_recovers_exponential_survival_and_naive_is_biased():
    df = simulate_truncated()
    with_entry = kaplan_meier(df, columns=FROM_ENTRY).survival_at([3, 6, 12, 24, 36]).set_index("months")
    naive = kaplan_meier(df).survival_at([12, 24, 36]).set_index("months")
    for t in (3, 6, 12, 24, 36):
        truth = np.exp(-0.04 * t)
        assert with_entry.loc[t, "ci_low"] < truth < with_entry.loc[t, "ci_high"]
    for t in (12, 24, 36):
        # immortal time: survivors' pre-observation tenure counted as risk-free
        assert naive.loc[t, "ci_low"] > np.exp(-0.04 * t) + 0.03


def test_km_at_risk_table_with_entry_matches_hand_count():
    df = pd.DataFrame(
        {
            "duration_months": [2, 4, 5, 7, 9, 10],
            "event": [True, False, True, True, False, True],
            "entry_months": [0, 0, 3, 6, 0, 8],
        }
    )
    km = kaplan_meier(df, min_group_size=1, at_risk_step=3, columns=FROM_ENTRY)
    # at risk at x: entry < x <= duration (entry 0 counts from 0); entering at 3 and 6 not yet at risk there
    assert km.at_risk["time"].tolist() == [0, 3, 6, 9, 12]
    assert km.at_risk["at_risk"].tolist() == [3, 2, 1, 2, 0]
    assert km.at_risk["events"].tolist() == [0, 1, 2, 3, 4]
    # churn times 2, 5, 7, 10 with (at risk, churned) (3, 1), (2, 1), (2, 1), (1, 1)
    curve = km.survival.set_index("time")["survival"]
    for t, s in {2.0: 2 / 3, 5.0: 1 / 3, 7.0: 1 / 6, 10.0: 0.0}.items():
        assert curve.loc[t] == pytest.approx(s)
    table = km.fitters["all"].event_table
    assert table.loc[[2.0, 5.0, 7.0, 10.0], "at_risk"].tolist() == [3, 2, 2, 1]
    # the RMST SE uses these truncation-aware risk sets: by hand, sum A_j^2 d_j / (n_j (n_j - d_j)) up to tau = 8
    res = rmst(df, 8, min_group_size=1, columns=FROM_ENTRY).table.iloc[0]
    area_to_8 = {2: 2 / 3 * 3 + 1 / 3 * 2 + 1 / 6 * 1, 5: 1 / 3 * 2 + 1 / 6 * 1, 7: 1 / 6 * 1}
    var = area_to_8[2] ** 2 / (3 * 2) + area_to_8[5] ** 2 / (2 * 1) + area_to_8[7] ** 2 / (2 * 1)
    assert res["rmst"] == pytest.approx(2 + 2 / 3 * 3 + 1 / 3 * 2 + 1 / 6 * 1)
    assert res["se"] == pytest.approx(np.sqrt(var))


def test_entry_without_follow_up_dropped_with_note():
    df = pd.DataFrame(
        {"duration_months": [5.0, 6, 7, 4, 0], "event": [True, False, True, True, True], "entry_months": [1.0, 9, 0, 4, 0]}
    )
    km = kaplan_meier(df, min_group_size=1, columns=FROM_ENTRY)
    assert km.medians["n"].iloc[0] == 3  # entry 9 > 6 and entry 4 == 4 dropped; entry 0 == duration 0 kept
    assert any("no follow-up after entry" in note for note in km.notes)


def test_rmst_se_uses_the_estimators_risk_sets_with_tied_entries():
    from cxresearch.survival.groups import at_risk_counts

    df = simulate_truncated(n=1500, seed=4).round({"duration_months": 0, "entry_months": 0})
    df = df[(df["entry_months"] == 0) | (df["entry_months"] < df["duration_months"])]
    res = rmst(df, 24, columns=FROM_ENTRY).table.iloc[0]
    kmf = KaplanMeierFitter().fit(df["duration_months"], df["event"], entry=df["entry_months"])
    t, e, a = df["duration_months"].to_numpy(), df["event"].to_numpy(bool), df["entry_months"].to_numpy()
    times = np.unique(t[e & (t <= 24)])
    n = at_risk_counts(t, a, times).astype(float)
    d = np.array([np.sum(e & (t == x)) for x in times], dtype=float)
    s = np.cumprod(1 - d / n)
    assert s == pytest.approx(kmf.survival_function_at_times(times).to_numpy())  # same risk sets as lifelines' KM
    area = np.cumsum((s * np.diff(np.append(times, 24)))[::-1])[::-1]
    assert res["se"] == pytest.approx(np.sqrt(np.sum(area**2 * d / (n * (n - d)))))


def test_cox_with_entry_recovers_hazard_ratio():
    df = simulate_truncated(n=8000, hr=2.0, seed=3)
    res = fit_cox(df, ["b"], columns=FROM_ENTRY)
    hr = res.hazard_ratio("b")
    assert hr.ci_low < 2.0 < hr.ci_high
    assert "entry_months" not in res.terms
    with pytest.raises(NotImplementedError, match="delayed entry"):
        res.ph_test()


def test_logrank_own_statistic_equals_lifelines_without_entry():
    from lifelines.statistics import multivariate_logrank_test

    from cxresearch.survival.compare import _logrank_statistic

    df, _ = simulate_exponential(n=2000)
    df["duration_months"] = df["duration_months"].round(0)  # ties on purpose
    ref = multivariate_logrank_test(df["duration_months"], df["plan"], df["event"])
    stat, p = _logrank_statistic(
        df["duration_months"].to_numpy(float), df["event"].to_numpy(bool), df["plan"].to_numpy(), np.zeros(len(df))
    )
    assert stat == pytest.approx(ref.test_statistic, rel=1e-9)
    assert p == pytest.approx(ref.p_value, rel=1e-6, abs=1e-300)
    df["entry_months"] = 0.0
    assert logrank(df, "plan", columns=FROM_ENTRY).statistic == pytest.approx(ref.test_statistic, rel=1e-9)


def test_logrank_with_entry_null_and_alternative():
    null = logrank(simulate_truncated(n=4000, hr=1.0, seed=8), "grp", columns=FROM_ENTRY)
    assert null.dof == 1 and null.p_value > 0.05
    assert any("left-truncation" in note for note in null.notes)
    alt = logrank(simulate_truncated(n=4000, hr=2.0, seed=9), "grp", columns=FROM_ENTRY)
    assert alt.p_value < 0.001


# --------------------------------------------------------------------------------------------------------------
# Pairwise log-rank, RMST differences, PH check with remedy, landmark groups
# --------------------------------------------------------------------------------------------------------------


def test_pairwise_logrank_matches_lifelines_pairs_and_hand_holm():
    from lifelines.statistics import logrank_test

    from cxresearch.survival.compare import pairwise_logrank

    df, _ = simulate_exponential(n=2000)
    out = pairwise_logrank(df, "plan").summary().set_index(["group_a", "group_b"])
    assert list(out.index) == [("basic", "plus"), ("basic", "pro"), ("plus", "pro")]
    for (a, b), row in out.iterrows():
        x, y = df[df["plan"] == a], df[df["plan"] == b]
        ref = logrank_test(x["duration_months"], y["duration_months"], x["event"], y["event"])
        assert row["statistic"] == pytest.approx(ref.test_statistic, rel=1e-9)
    # Holm by hand: sort p ascending, multiply by (3, 2, 1), running maximum, capped at 1
    p = out["p_value"].to_numpy()
    order = np.argsort(p)
    adj = np.minimum(1, np.maximum.accumulate(p[order] * np.array([3, 2, 1])))
    assert out["p_adjusted"].to_numpy()[order] == pytest.approx(adj)


def test_rmst_difference_is_difference_of_hand_areas_and_covers_truth():
    from cxresearch.survival.kaplan_meier import rmst_difference

    rng = np.random.default_rng(12)
    n, tau = 3000, 24.0
    rate = {"a": 0.05, "b": 0.025}
    grp = rng.choice(list(rate), n)
    life = rng.exponential(1 / np.array([rate[g] for g in grp]))
    censor = rng.uniform(10, 60, n)
    df = pd.DataFrame({"duration_months": np.minimum(life, censor), "event": life <= censor, "grp": grp})
    per_group = rmst(df, tau, group="grp").summary().set_index("group")
    diff = rmst_difference(df, tau, group="grp").summary().iloc[0]
    assert diff["reference"] == "a" and diff["group"] == "b"  # shortest-lived group is the reference
    assert diff["difference"] == pytest.approx(per_group.loc["b", "rmst"] - per_group.loc["a", "rmst"])
    assert diff["se"] == pytest.approx(np.hypot(per_group.loc["a", "se"], per_group.loc["b", "se"]))
    true_rmst = {g: (1 - np.exp(-r * tau)) / r for g, r in rate.items()}  # integral of exp(-r t) over [0, tau]
    assert diff["ci_low"] < true_rmst["b"] - true_rmst["a"] < diff["ci_high"]
    assert diff["p_value"] < 1e-6


def simulate_non_ph(n: int = 4000, seed: int = 2) -> pd.DataFrame:
    """`x` triples the hazard during the first 10 months and has no effect afterwards; `z` has a constant HR 1.5."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n).astype(float)
    z = rng.integers(0, 2, n).astype(float)
    base, cut = 0.04, 10.0
    early = base * np.where(x == 1, 3.0, 1.0) * np.where(z == 1, 1.5, 1.0)
    late = base * np.where(z == 1, 1.5, 1.0)
    # piecewise-exponential lifetimes: survive the first phase, then draw from the second
    first = rng.exponential(1 / early)
    life = np.where(first < cut, first, cut + rng.exponential(1 / late))
    censor = rng.uniform(0, 40, n)
    return pd.DataFrame({"duration_months": np.minimum(life, censor), "event": life <= censor, "x": x, "z": z})


def test_ph_violation_is_detected_and_remedied_with_time_interaction():
    from cxresearch.survival.cox import check_proportional_hazards

    check = check_proportional_hazards(fit_cox(simulate_non_ph(), ["x", "z"]), cut_months=10)
    assert check.violated == ["x"]  # z has a constant hazard ratio
    # Holm over the two terms: the smaller p-value doubled, the larger kept (never below the smaller's)
    p = check.tests["p_value"]
    assert check.tests.loc["x", "p_holm"] == pytest.approx(min(1.0, 2 * p["x"]))
    assert check.tests.loc["z", "p_holm"] == pytest.approx(max(p["z"], 2 * p["x"]))
    table = check.summary()
    assert table.loc["x", "hr_ci_low_before"] < 3.0 < table.loc["x", "hr_ci_high_before"]
    assert table.loc["x", "hr_ci_low_after"] < 1.0 < table.loc["x", "hr_ci_high_after"]
    assert "z" in check.remedy.terms  # passing terms keep one hazard ratio
    assert check.remedy.table.loc["z", "hr_ci_low"] < 1.5 < check.remedy.table.loc["z", "hr_ci_high"]
    (sentence,) = check.sentences()
    assert sentence.startswith("x:") and "before" in sentence and "after" in sentence


def test_ph_holds_gives_no_remedy():
    from cxresearch.survival.cox import check_proportional_hazards

    df, _ = simulate_exponential(n=2000)
    check = check_proportional_hazards(fit_cox(df, ["tickets"], ["plan"]), alpha=0.01)
    assert check.violated == [] and check.remedy is None
    assert "No term violates" in check.sentences()[0]


def test_landmark_cohort_groups_by_scores_known_before_the_landmark():
    from cxresearch.data.schema import CXData
    from cxresearch.stats.design import NO_SCORE
    from cxresearch.survival.landmark import landmark_cohort

    customers = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D"],
        "signup_date": pd.to_datetime(["2023-01-10", "2023-02-01", "2023-03-01", "2023-01-05"]),
        "end_date": pd.to_datetime([None, "2024-09-01", None, "2024-03-01"]),
        "monthly_margin": 10.0,
    })
    contacts = pd.DataFrame({
        "customer_id": ["B"], "timestamp": pd.to_datetime(["2024-05-10"]), "channel": ["phone"],
        "direction": ["reactive"], "resolved_first_contact": pd.array([False], dtype="boolean"),
    })
    surveys = pd.DataFrame({
        "customer_id": ["A", "B", "A", "C"],
        "timestamp": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-08-01", "2024-01-01"]),
        "instrument": ["nps", "nps", "nps", "ces"], "score": [10, 3, 2, 6],
    })
    data = CXData(customers, contacts, surveys, observed_until=pd.Timestamp("2025-01-01"))
    landmark = landmark_cohort(data, "2024-07-01")
    cohort = landmark.customers.set_index("customer_id")
    assert list(cohort.index) == ["A", "B", "C"]  # D left before the landmark
    # A's later detractor score (August) is not known at the landmark: still a promoter
    assert cohort["nps_group"].to_dict() == {"A": "promoter", "B": "detractor", "C": NO_SCORE}
    assert cohort["effort_band"].to_dict() == {"A": NO_SCORE, "B": NO_SCORE, "C": "high effort (5-7)"}
    assert cohort["unresolved_contact"].to_dict() == {"A": "no", "B": "yes", "C": "no"}
    assert cohort.loc["B", "residual_months"] == pytest.approx(62 / 30.4375)  # Jul 1 to Sep 1
    assert bool(cohort.loc["B", "event"]) and not bool(cohort.loc["A", "event"])
    summary = landmark.summary()
    assert summary.loc[("nps_group", "detractor"), "churned"] == 1  # B
    assert summary.loc[("unresolved_contact", "no"), "customers"] == 2  # A and C
    assert summary.loc[("unresolved_contact", "yes"), "mean_follow_months"] == pytest.approx(62 / 30.4375)
    assert landmark.landmark == pd.Timestamp("2024-07-01") and landmark.window_months == 3


def test_compare_groups_summary_and_sentence():
    from cxresearch.survival.compare import compare_groups

    df, _ = simulate_exponential(n=2000)
    comparison = compare_groups(df, "plan", 24, reference="pro")
    assert set(comparison.summary().index) == {"basic", "plus", "pro"}
    assert set(comparison.rmst_difference.summary()["reference"]) == {"pro"}
    assert "plus stay" in comparison.sentence()  # plus (HR 0.7) vs pro (HR 1.4): the largest difference


def test_result_objects_summarise_their_numbers_and_show_themselves():
    from cxresearch.survival.compare import compare_groups

    df, _ = simulate_exponential(n=2000)
    comparison = compare_groups(df, "plan", 24, reference="pro")
    rmst_table = comparison.rmst.summary().set_index("group")
    # the comparison's summary carries the same restricted means as the RMST table
    assert comparison.summary()["rmst_24m"].to_dict() == pytest.approx(rmst_table["rmst"].to_dict())
    diff = comparison.rmst_difference.summary().set_index("group")
    for g in ("basic", "plus"):
        assert diff.loc[g, "difference"] == pytest.approx(rmst_table.loc[g, "rmst"] - rmst_table.loc["pro", "rmst"])
    assert comparison.rmst_difference.reference == "pro" and comparison.rmst_difference.horizon_months == 24.0
    pairs = comparison.pairwise.summary()
    assert len(pairs) == 3 and (pairs["p_adjusted"] >= pairs["p_value"]).all() and comparison.pairwise.method == "holm"
    for shown in (comparison, comparison.rmst, comparison.rmst_difference, comparison.pairwise, comparison.km,
                  comparison.logrank):
        assert "<table" in shown._repr_html_()
