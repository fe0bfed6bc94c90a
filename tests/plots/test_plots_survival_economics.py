"""Smoke-and-shape tests for the survival and economics figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxresearch.economics import RetentionCampaign, Valuation, clv_from_survival, retention_vs_acquisition
from cxresearch.plots.economics import plot_acquisition_vs_retention, plot_clv_by_segment
from cxresearch.plots.survival import plot_hazard_ratios, plot_km_curves
from cxresearch.stats.estimate import Estimate
from cxresearch.survival.cox import fit_cox
from cxresearch.survival.kaplan_meier import kaplan_meier


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    n = 900
    plan = rng.choice(["basic", "plus", "pro"], n)
    lifetime = rng.exponential(1 / (0.03 * np.where(plan == "pro", 1.5, 1.0)))
    censor = rng.uniform(0, 36, n)
    return pd.DataFrame(
        {
            "duration_months": np.minimum(lifetime, censor),
            "event": lifetime <= censor,
            "plan": plan,
            "tickets": rng.poisson(1.0, n),
            "monthly_margin": rng.gamma(4.0, 5.0, n),
            "acquisition_cost": rng.gamma(4.0, 50.0, n),
            "acquisition_channel": rng.choice(["paid", "referral", "store"], n),
        }
    )


@pytest.fixture(autouse=True)
def no_figures_left_open():
    yield
    left_open = plt.get_fignums()
    plt.close("all")  # so one failing test does not cascade into the next
    assert left_open == []


def test_plot_km_curves_one_line_and_band_per_group_and_at_risk_table(customers):
    km = kaplan_meier(customers, group="plan")
    ax = plot_km_curves(km)
    fig = ax.figure
    curve_ax, table_ax = fig.axes
    assert curve_ax is ax
    assert len(curve_ax.get_lines()) == 3
    assert len(curve_ax.collections) == 3  # one 95% band per group
    assert curve_ax.get_ylabel() == "% still active"
    assert "Months" in table_ax.get_xlabel()
    n_times = km.at_risk.groupby("group").size().iloc[0]
    assert len(table_ax.texts) == 3 * n_times
    assert table_ax.texts[0].get_text() == f"{km.at_risk['at_risk'].iloc[0]:,}"
    plt.close(fig)


def test_plot_km_curves_on_a_given_axes_add_the_at_risk_table_below_it(customers):
    km = kaplan_meier(customers, group="plan")
    fig, (left, right) = plt.subplots(1, 2)
    ax = plot_km_curves(km, ax=right)
    assert ax is right and len(fig.axes) == 3  # the given two plus the at-risk table under `right`
    table_ax = fig.axes[2]
    assert len(table_ax.texts) == 3 * km.at_risk.groupby("group").size().iloc[0]
    fig.canvas.draw()  # the divider places the table at draw time
    assert table_ax.get_position().y1 < right.get_position().y0 and not left.get_lines()
    plt.close(fig)


def test_plot_hazard_ratios_log_axis(customers):
    cox = fit_cox(customers, ["tickets"], categorical=["plan"])
    ax = plot_hazard_ratios(cox)
    fig = ax.figure
    assert ax.get_xscale() == "log"
    assert len(ax.get_yticks()) == len(cox.terms)
    assert "Hazard ratio" in ax.get_xlabel()
    plt.close(fig)


def test_clv_by_segment_bars_with_currency_axis(customers):
    clv = clv_from_survival(customers, Valuation(n_boot=30, currency="EUR"), group="plan")
    fig = plot_clv_by_segment(clv).figure
    (ax,) = fig.axes
    assert len(ax.patches) == 3
    assert "EUR" in ax.get_ylabel()
    plt.close(fig)


def test_acquisition_vs_retention_bars(customers):
    econ = retention_vs_acquisition(customers, RetentionCampaign(20.0, 0.25, contacted=200),
                                    clv=Estimate(400.0, "EUR", "CLV"), valuation=Valuation(currency="EUR"))
    fig = plot_acquisition_vs_retention(econ).figure
    (ax,) = fig.axes
    assert len(ax.patches) == 1 + 3 + 1  # overall, one per channel, retention per save
    assert "EUR" in ax.get_ylabel()
    plt.close(fig)
