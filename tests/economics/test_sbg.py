"""Tests for cxresearch.economics.sbg against Fader & Hardie (2007) and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from cxresearch.economics import cohort_alive, fit_sbg, projection_check, split_cohorts
from cxresearch.errors import NotEstimableError

# Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1), Table 1: customers
# of 1000 still active at years 0..7; their maximum likelihood estimates (section 3): regular alpha 0.704,
# beta 1.182; high end alpha 0.668, beta 3.806.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


@pytest.mark.parametrize(
    ("alive", "alpha", "beta", "log_likelihood"),
    [(REGULAR, 0.704, 1.182, -1680.27), (HIGH_END, 0.668, 3.806, -1611.16)],
    ids=["regular", "high_end"],
)
def test_sbg_matches_published_estimates(alive, alpha, beta, log_likelihood):
    fit = fit_sbg(alive)
    assert fit.alpha == pytest.approx(alpha, abs=5e-4)
    assert fit.beta == pytest.approx(beta, abs=5e-4)
    # the maximised log-likelihood, checked by hand from eq. 5 at the published values
    t = np.arange(1, 8)
    log_p = special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta)
    by_hand = -np.diff(alive) @ log_p + alive[-1] * (special.betaln(alpha, beta + 7) - special.betaln(alpha, beta))
    assert fit.log_likelihood == pytest.approx(by_hand, abs=0.05)
    assert fit.log_likelihood == pytest.approx(log_likelihood, abs=0.01)
    summary = fit.summary()
    assert (summary["ci_low"] < summary["estimate"]).all() and (summary["estimate"] < summary["ci_high"]).all()


def test_sbg_survival_retention_and_projection_are_consistent():
    fit = fit_sbg(REGULAR)
    t = np.arange(0, 13)
    s = fit.survival(t)
    assert s[0] == 1.0
    assert fit.retention(t[1:]) == pytest.approx(s[1:] / s[:-1])
    assert fit.churn_probability(t[1:]) == pytest.approx(s[:-1] - s[1:])
    assert np.all(np.diff(fit.retention(t[1:])) > 0)  # retention rises: heterogeneity sorts customers
    table = fit.projection(12)
    # the fit reproduces the 7 observed years closely (Fader & Hardie 2007, Fig. 3)
    seen = table.dropna(subset=["observed_survival_pct"])
    assert len(seen) == 8
    assert np.max(np.abs(seen["survival_pct"] - seen["observed_survival_pct"])) < 1.5
    assert table["expected_alive"].iloc[0] == 1000


def test_del_and_derl_closed_forms_equal_their_sums():
    fit = fit_sbg(HIGH_END)
    d, t = 0.1, np.arange(0, 4000)
    s = fit.survival(t)
    assert fit.del_(d) == pytest.approx(np.sum(s / (1 + d) ** t), rel=1e-9)
    for renewals in (0, 3, 10):
        n = renewals + 1
        by_sum = np.sum(s[n:] / s[n - 1] / (1 + d) ** (t[n:] - n))
        assert fit.derl(d, renewals) == pytest.approx(by_sum, rel=1e-9)
    # a new customer pays now, then is a customer with 0 renewals one period later
    assert fit.del_(d) == pytest.approx(1 + fit.derl(d, 0) / (1 + d))
    # survivors are the better customers: residual lifetime grows with renewals made
    assert fit.derl(d, 10) > fit.derl(d, 3) > fit.derl(d, 0)


def test_sbg_recovers_simulated_parameters_and_pools_cohorts():
    rng = np.random.default_rng(3)
    theta = rng.beta(2.0, 6.0, 20000)
    lifetime = rng.geometric(theta)  # periods until churn, >= 1
    cohort_a = [int((lifetime > k).sum()) for k in range(9)]
    fit = fit_sbg(cohort_a)
    table = fit.summary()
    for name, true in (("alpha", 2.0), ("beta", 6.0)):
        assert table.loc[name, "ci_low"] < true < table.loc[name, "ci_high"]
    # two identical cohorts give the same estimates as one; a shorter extra cohort is accepted
    assert fit_sbg([cohort_a, cohort_a]).alpha == pytest.approx(fit.alpha, rel=1e-4)
    assert fit_sbg([cohort_a, cohort_a[:4]]).n_periods == 8


def test_sbg_rejects_bad_counts():
    with pytest.raises(ValueError, match="never increase"):
        fit_sbg([100, 90, 95])
    with pytest.raises(ValueError, match="at least one period"):
        fit_sbg([100])


def test_cohort_alive_counts_by_signup_quarter():
    lt = pd.DataFrame(
        {
            "signup_date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-01", "2024-04-01", "2023-06-01"]),
            "duration_months": [0.5, 2.5, 5.0, 3.0, 10.0],
            "event": [True, True, False, False, False],
            "entry_months": [0.0, 0.0, 0.0, 0.0, 4.0],  # the last joined before observation: left out
        }
    )
    out = cohort_alive(lt, "2024-08-01", min_cohort=1)
    q1 = out[out["cohort"] == "2024Q1"]
    # latest Q1 signup 2024-03-01 -> 5 full months reachable by 2024-08-01
    assert q1["period"].tolist() == [0, 1, 2, 3, 4, 5]
    assert q1["alive"].tolist() == [3, 2, 2, 1, 1, 1]
    assert set(out["cohort"]) == {"2024Q1", "2024Q2"}


# --------------------------------------------------------------------------------------------------------------
# Degenerate histories are refused with the reason, not fitted to a boundary
# --------------------------------------------------------------------------------------------------------------


def test_sbg_refuses_churn_in_a_single_period():
    # 40 of 100 leave in month 1, nobody after: a mean churn rate and its spread cannot both be learned
    with pytest.raises(NotEstimableError, match="period 1 only") as err:
        fit_sbg([100, 60, 60, 60, 60, 60])
    assert err.value.needs == "more history"
    assert str(err.value).startswith("not estimable from this data: ")


def test_sbg_refuses_cohorts_without_churn():
    with pytest.raises(NotEstimableError, match="no churn to model") as err:
        fit_sbg([[132] * 13, [50] * 5])
    assert err.value.needs == "churners"


def test_sbg_refuses_identical_customers():
    # every customer churns with the same 10% a month: Beta heterogeneity degenerates (alpha, beta -> infinity
    # with alpha / (alpha + beta) = 0.1); before the check this returned beta ~ 5e5 with no warning
    with pytest.raises(NotEstimableError, match=r"runs off to none .* mean churn rate, 10.0% a month"):
        fit_sbg([10000 * 0.9**k for k in range(13)])


def test_sbg_refuses_a_spread_the_data_cannot_pin_down():
    # 1000 customers of a mildly heterogeneous cohort (alpha 20, beta 180: mean churn 10%) observed for 6 periods:
    # retention rises by under half a point, so alpha and beta are nearly unidentified along alpha / (alpha + beta)
    alive = [round(1000 * np.exp(special.betaln(20, 180 + t) - special.betaln(20, 180))) for t in range(7)]
    with pytest.raises(NotEstimableError, match=r"not pinned down by the data .* mean churn rate, 10.0% a month"):
        fit_sbg(alive)


def test_split_cohorts_adapts_the_calibration_to_the_histories():
    seven = [REGULAR, REGULAR[:5]]  # longest observed for 7 periods
    kept = split_cohorts(seven, 5)
    assert kept.periods == 5 and kept.has_holdout and kept.note == ""
    assert [len(h) for h in kept.calibration] == [6, 5]
    derived = split_cohorts(seven, 12)  # 12 > 7: fit on the first 2 * 7 // 3 = 4 periods, check on 3
    assert derived.periods == 4 and derived.has_holdout
    assert "at most 7 months" in derived.note and "first 4 months, the remaining 3" in derived.note
    short = split_cohorts([REGULAR[:5]], 12)  # 4 periods: too few to leave a holdout
    assert short.periods == 4 and not short.has_holdout and "no months left" in short.note
    with pytest.raises(NotEstimableError, match="one month only"):
        split_cohorts([[100, 90]], 12)
    with pytest.raises(NotEstimableError, match="observed from sign-up") as err:
        split_cohorts([], 12)
    assert err.value.needs == "more history"


def test_projection_check_states_gap_or_its_absence():
    split = split_cohorts([REGULAR], 4)
    fit = fit_sbg(split.calibration)
    after = fit.projection(7, [REGULAR]).query("period > 4")
    gap = (after["survival_pct"] - after["observed_survival_pct"]).abs().mean()
    text = projection_check(fit, split, 0.1)
    assert f"{gap:.1f} points" in text and f"{fit.del_(0.1):.1f} months paid" in text
    whole = split_cohorts([REGULAR[:5]], 12)  # 4 periods, all used for the fit
    assert projection_check(fit_sbg(whole.calibration), whole, 0.1).startswith("No cohort is observed beyond")
