"""Shape tests for the survival figures added with the parametric, RMST and time-varying analyses."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxresearch.plots.survival import (
    plot_aft_extrapolation,
    plot_hazard_ratios,
    plot_rmst_differences,
    plot_tenure_drift,
)
from cxresearch.survival.kaplan_meier import kaplan_meier, rmst_difference
from cxresearch.survival.parametric import fit_aft
from cxresearch.survival.timevarying import TenurePHCheck, TimeVaryingResult


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    plan = rng.choice(["basic", "plus", "pro"], 900)
    life = rng.exponential(1 / (0.03 * np.where(plan == "pro", 1.5, 1.0)))
    censor = rng.uniform(0, 36, 900)
    return pd.DataFrame({"duration_months": np.minimum(life, censor), "event": life <= censor, "plan": plan})


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_aft_extrapolation_km_and_fitted_curve_per_group(customers):
    aft = fit_aft(customers, group="plan")
    ax = plot_aft_extrapolation(aft, kaplan_meier(customers, group="plan"), 120)
    assert ax.figure.axes == [ax]
    assert len(ax.get_lines()) == 2 * 3 + 1  # KM + AFT per group, end-of-follow-up marker
    assert ax.get_xlim() == (0, 120)
    assert ax.get_ylabel() == "% still active" and "Months" in ax.get_xlabel()


def test_plot_rmst_differences_one_row_per_comparison(customers):
    diff = rmst_difference(customers, 24, group="plan")
    ax = plot_rmst_differences(diff)
    assert len(ax.get_yticks()) == len(diff.summary()) == 2
    assert "months" in ax.get_xlabel()


def test_plot_hazard_ratios_accepts_time_varying_result():
    table = pd.DataFrame({"coef": [0.1, -0.2], "se": [0.01, 0.02], "hazard_ratio": np.exp([0.1, -0.2]),
                          "hr_ci_low": [1.08, 0.79], "hr_ci_high": [1.13, 0.85], "p_value": [1e-5, 1e-6]},
                         index=pd.Index(["reactive_90d", "proactive_90d"], name="term"))
    tv = TimeVaryingResult("Cox (Efron ties)", table, 100, 1000, 50, {})
    ax = plot_hazard_ratios(tv)
    assert ax.get_xscale() == "log" and "100 customers" in ax.get_title()


def test_plot_tenure_drift_two_intervals_per_term_and_flags_violators():
    hr = {"hr_at_6": [1.8, 0.4], "hr_ci_low_at_6": [1.7, 0.35], "hr_ci_high_at_6": [1.9, 0.45],
          "hr_at_24": [1.2, 0.41], "hr_ci_low_at_24": [1.1, 0.36], "hr_ci_high_at_24": [1.3, 0.46]}
    tests = pd.DataFrame({"violated": [True, False], **hr}, index=pd.Index(["x", "contract=one_year"], name="term"))
    check = TenurePHCheck(tests, {"statistic": 30.0, "dof": 2, "p_value": 1e-7}, "log", (6, 24), 0.05,
                          {"contract": "month_to_month"}, 100, 2000, 80)
    ax = plot_tenure_drift(check)
    fig = ax.figure
    assert len(ax.containers) == 2  # one errorbar series per tenure
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x *", "contract=one_year vs month_to_month"]
    assert ax.get_xscale() == "log" and [t.get_text() for t in fig.legends[0].get_texts()] == [
        "at 6 months of tenure", "at 24 months of tenure"]
