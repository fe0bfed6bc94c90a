"""Shape tests for the survival figures added with the parametric, RMST and time-varying analyses."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxresearch.parametric import fit_aft
from cxresearch.plots.survival import aft_extrapolation, hazard_ratio_forest, rmst_difference_forest
from cxresearch.survival import kaplan_meier, rmst_difference
from cxresearch.timevarying import TimeVaryingResult


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


def test_aft_extrapolation_km_and_fitted_curve_per_group(customers):
    aft = fit_aft(customers, group="plan")
    fig = aft_extrapolation(aft, kaplan_meier(customers, group="plan"), 120)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 2 * 3 + 1  # KM + AFT per group, end-of-follow-up marker
    assert ax.get_xlim() == (0, 120)
    assert ax.get_ylabel() == "% still active" and "Months" in ax.get_xlabel()


def test_rmst_difference_forest_one_row_per_comparison(customers):
    diff = rmst_difference(customers, 24, group="plan")
    fig = rmst_difference_forest(diff)
    (ax,) = fig.axes
    assert len(ax.get_yticks()) == len(diff) == 2
    assert "months" in ax.get_xlabel()


def test_hazard_ratio_forest_accepts_time_varying_result():
    table = pd.DataFrame({"coef": [0.1, -0.2], "se": [0.01, 0.02], "hazard_ratio": np.exp([0.1, -0.2]),
                          "hr_ci_low": [1.08, 0.79], "hr_ci_high": [1.13, 0.85], "p_value": [1e-5, 1e-6]},
                         index=pd.Index(["reactive_90d", "proactive_90d"], name="term"))
    tv = TimeVaryingResult("Cox (Efron ties)", table, 100, 1000, 50, {})
    (ax,) = hazard_ratio_forest(tv).axes
    assert ax.get_xscale() == "log" and "100 customers" in ax.get_title()
