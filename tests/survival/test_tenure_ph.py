"""Tests for the proportional-hazards check over tenure in the person-month model (timevarying)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from cxresearch.data.simulate import simulate
from cxresearch.survival.cloglog import fit_cloglog
from cxresearch.survival.person_months import CES_DRIVER, COUNT_DRIVERS, person_months
from cxresearch.survival.timevarying import check_tenure_proportional_hazards


def constructed_person_months(
    n: int, seed: int, log_hr_x: Callable[[np.ndarray], np.ndarray], log_hr_z: float = 0.5
) -> pd.DataFrame:
    """Person-months with a known hazard: monthly cloglog with baseline steps at tenure 4 and 13 (aligned with
    the model's bands), a time-varying count x (Poisson 0.4 a month) whose log hazard ratio at tenure k is
    `log_hr_x(k)`, and a fixed binary z with constant log hazard ratio `log_hr_z`. 40% of customers are
    left-truncated (already 1-24 months into their lifetime when observation starts); follow-up is 12-36 months."""
    rng = np.random.default_rng(seed)
    before = np.where(rng.random(n) < 0.4, rng.integers(1, 25, n), 0)  # tenure when observation starts
    follow = rng.integers(12, 37, n)
    z = (rng.random(n) < 0.4).astype(float)
    alive = np.ones(n, bool)
    frames = []
    for m in range(36):
        at_risk = alive & (m < follow)
        if not at_risk.any():
            break
        idx = np.flatnonzero(at_risk)
        k = before[idx] + m + 1
        x = rng.poisson(0.4, len(idx)).astype(float)
        eta = -3.6 + 0.5 * (k <= 3) + 0.2 * (k <= 12) + log_hr_x(k) * x + log_hr_z * z[idx]
        event = rng.random(len(idx)) < -np.expm1(-np.exp(eta))
        alive[idx[event]] = False
        frames.append(pd.DataFrame({"customer_id": idx, "tenure": k, "event": event, "x": x, "z": z[idx]}))
    return pd.concat(frames, ignore_index=True)


def fading(k: np.ndarray) -> np.ndarray:
    """Log HR 0.4 at a year of tenure, falling by 0.3 per e-fold of tenure: HR 1.84 at 6 months, 1.21 at 24."""
    return 0.4 - 0.3 * np.log(k / 12)


@pytest.fixture(scope="module")
def fading_check():
    long = constructed_person_months(8000, seed=1, log_hr_x=fading)
    return check_tenure_proportional_hazards(long, ["x", "z"])


def test_log_form_flags_a_fading_effect_with_its_size_and_direction(fading_check):
    ph = fading_check
    row = ph.tests.loc["x"]
    assert ph.violated == ["x"]  # z's hazard ratio is constant by construction
    # truth: HR exp(0.4 + 0.3 ln 2) = 1.84 at 6 months, exp(0.4 - 0.3 ln 2) = 1.21 at 24, drift 4^-0.3 = 0.66
    assert row["hr_ci_low_at_6"] < np.exp(fading(np.array(6.0))) < row["hr_ci_high_at_6"]
    assert row["hr_ci_low_at_24"] < np.exp(fading(np.array(24.0))) < row["hr_ci_high_at_24"]
    assert row["drift_ci_low"] < 4**-0.3 < row["drift_ci_high"] < 0.85
    z = ph.tests.loc["z"]
    assert z["drift_ci_low"] < 1 < z["drift_ci_high"] and z["hr_ci_low_at_6"] < np.exp(0.5) < z["hr_ci_high_at_6"]
    assert ph.joint["dof"] == 2 and ph.joint["p_value"] < 1e-6
    (sentence,) = ph.sentences()
    assert sentence.startswith("x: its hazard ratio changes with tenure") and "fades with tenure" in sentence
    assert "remedy" in sentence
    drift = ph.to_estimates()["tv_ph_drift_x"]
    assert (drift.value, drift.ci_low, drift.ci_high) == (row["drift"], row["drift_ci_low"], row["drift_ci_high"])


def test_bands_form_recovers_an_effect_that_reverses_after_a_year():
    long = constructed_person_months(8000, seed=2, log_hr_x=lambda k: np.where(k <= 12, 0.4, -0.3))
    ph = check_tenure_proportional_hazards(long, ["x", "z"], form="bands")
    row = ph.tests.loc["x"]
    assert ph.violated == ["x"] and row["dof"] == 3
    # the bands (1-6, 7-12, 13-24, 25+) contain the step, so the band estimates are unbiased
    assert row["hr_ci_low_at_6"] < np.exp(0.4) < row["hr_ci_high_at_6"]
    assert row["hr_ci_low_at_24"] < np.exp(-0.3) < row["hr_ci_high_at_24"]
    assert row["drift_ci_low"] < np.exp(-0.7) < row["drift_ci_high"]
    assert "reverses direction with tenure" in ph.sentences()[0]


def test_proportional_hazards_are_flagged_at_the_nominal_rate():
    # 40 worlds with proportional hazards: the unadjusted p-values are uniform and Holm keeps the family-wise
    # false-flag rate at 5% (expected 2 of 40; 7 or more has probability 0.3% under the nominal rate)
    checks = [check_tenure_proportional_hazards(constructed_person_months(1500, seed, lambda k: 0.3 + 0 * k),
                                                ["x", "z"]) for seed in range(100, 140)]
    p = np.concatenate([c.tests["p_value"].to_numpy() for c in checks])
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert sum(bool(c.violated) for c in checks) <= 6


def test_lr_and_wald_statistics_match_statsmodels_on_rows():
    long = constructed_person_months(1500, seed=7, log_hr_x=fading)
    ph = check_tenure_proportional_hazards(long, ["x", "z"], time_bands=(1, 4, 13))
    band = np.searchsorted([1, 4, 13], long["tenure"], side="right") - 1
    base = pd.get_dummies(band, prefix="band", dtype=float).set_index(long.index)
    null = base.assign(x=long["x"], z=long["z"])
    alt = null.assign(xg=long["x"] * np.log(long["tenure"] / 12))
    family = sm.families.Binomial(link=sm.families.links.CLogLog())
    fits = [sm.GLM(long["event"].astype(float), d, family=family).fit(tol=1e-12) for d in (null, alt)]
    assert ph.tests.loc["x", "lr"] == pytest.approx(2 * (fits[1].llf - fits[0].llf), rel=1e-5)
    assert ph.tests.loc["x", "wald"] == pytest.approx((fits[1].params["xg"] / fits[1].bse["xg"]) ** 2, rel=1e-4)
    # the drift 6 -> 24 months is the interaction times ln 4
    assert np.log(ph.tests.loc["x", "drift"]) == pytest.approx(fits[1].params["xg"] * np.log(4), rel=1e-5)


def test_cells_of_identical_person_months_give_the_row_fit():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(3000), rng.integers(0, 3, 3000), rng.integers(0, 2, 3000)]).astype(float)
    y = (rng.random(3000) < 0.1 + 0.05 * x[:, 1]).astype(float)
    cells = pd.DataFrame(x[:, 1:], columns=["a", "b"]).assign(y=y).groupby(["a", "b"])["y"].agg(["sum", "size"])
    xc = np.column_stack([np.ones(len(cells)), cells.index.to_frame().to_numpy(float)])
    rows, grouped = fit_cloglog(x, y), fit_cloglog(xc, cells["sum"].to_numpy(float), trials=cells["size"].to_numpy())
    for a, b in zip(rows, grouped):
        assert np.allclose(a, b, rtol=1e-8)


def test_simulated_world_with_proportional_hazards_is_not_flagged():
    # the simulator's churn hazard is proportional in every driver by construction (cloglog, constant effects)
    world = simulate(6000, 24, seed=0)
    long = person_months(world.to_cxdata()).table
    ph = check_tenure_proportional_hazards(long, [*COUNT_DRIVERS, CES_DRIVER], ["contract", "plan"])
    assert not set(ph.violated) & {*COUNT_DRIVERS, CES_DRIVER}, ph.summary()
    assert ph.joint["p_value"] > 0.01
    # the drift intervals are centred near 1 (no drift) and nominally cover it
    assert ((ph.tests["drift_ci_low"] < 1) & (ph.tests["drift_ci_high"] > 1)).sum() >= len(ph.tests) - 1
    assert ph.sentences()[0].startswith("No term's hazard ratio changes with tenure")


def test_unknown_form_is_refused(fading_check):
    with pytest.raises(ValueError, match="form"):
        check_tenure_proportional_hazards(pd.DataFrame({"customer_id": [], "tenure": [], "event": [], "x": []}),
                                          ["x"], form="spline")


def test_a_term_without_variation_in_some_tenure_band_is_reported_not_raised():
    long = constructed_person_months(3000, seed=4, log_hr_x=lambda k: 0.3 + 0 * k)
    long["early_offer"] = ((long["tenure"] <= 6) & (long["customer_id"] % 2 == 0)).astype(float)
    ph = check_tenure_proportional_hazards(long, ["x", "z", "early_offer"], form="bands")
    assert np.isnan(ph.tests.loc["early_offer", "p_value"]) and not ph.tests.loc["early_offer", "violated"]
    assert ph.tests.loc[["x", "z"], "p_holm"].notna().all()
    assert any(note.startswith("early_offer: its tenure interaction is not identified") for note in ph.notes)
    assert "all 2 terms tested" in ph.sentences()[0] and set(ph.to_estimates()) == {"tv_ph_drift_x", "tv_ph_drift_z"}
