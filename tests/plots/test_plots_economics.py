"""Smoke-and-shape tests for the sBG, BG/NBD, campaign and tornado figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxresearch.data.transactions import rfm_summary
from cxresearch.economics import BGNBDResult, GammaGammaResult, Uncertain, campaign_roi, fit_sbg, monte_carlo
from cxresearch.economics.bgnbd import holdout_by_frequency, track_repeat_purchases
from cxresearch.economics.btyd_clv import btyd_clv
from cxresearch.plots.economics import (
    plot_bgnbd_holdout,
    plot_bgnbd_tracking,
    plot_btyd_clv_distribution,
    plot_campaign_profit_curve,
    plot_sbg_projection,
    plot_tornado,
)


@pytest.fixture(autouse=True)
def no_figures_left_open():
    yield
    left_open = plt.get_fignums()
    plt.close("all")
    assert left_open == []


def test_sbg_projection_marks_calibration_and_projects_beyond():
    full = [1000, 631, 468, 382, 326, 289, 262, 241]
    fit = fit_sbg(full[:5])
    fig = plot_sbg_projection(fit, observed=[full], period_label="Years").figure
    left, right = fig.axes
    observed, projected = left.get_lines()[:2]
    assert len(observed.get_xdata()) == 8 and len(projected.get_xdata()) == 8
    assert left.get_ylabel() == "% still active" and right.get_xlabel() == "Years"
    assert np.asarray(projected.get_ydata())[0] == pytest.approx(100.0)
    plt.close(fig)


def test_bgnbd_holdout_one_point_per_frequency_bin():
    rfm = pd.DataFrame({"frequency": [0, 0, 1, 2, 9, 12], "recency": [0, 0, 5, 8, 30, 35], "T": [39.0] * 6,
                        "holdout_frequency": [0, 1, 1, 2, 6, 8], "holdout_length": 39.0})
    fit = BGNBDResult({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, np.eye(4), -1.0, 6)
    holdout = holdout_by_frequency(fit, rfm, max_frequency=7)
    assert list(holdout.summary()["n"]) == [2, 1, 1, 2]
    assert "<table" in holdout._repr_html_() and "calibration repeat purchases" in holdout._repr_html_()
    fig = plot_bgnbd_holdout(holdout).figure
    (ax,) = fig.axes
    actual, expected = ax.get_lines()
    assert list(actual.get_xdata()) == [0, 1, 2, 7]  # 9 and 12 fall in the 7+ bin
    assert list(expected.get_xdata()) == [0, 1, 2, 7]
    assert list(actual.get_ydata()) == [0.5, 1.0, 2.0, 7.0]
    assert "holdout" in ax.get_ylabel()
    plt.close(fig)


def _tiny_log() -> pd.DataFrame:
    """Three customers over four weeks: a buys on days 0, 3 and 20; b on day 1 and 15; c only on day 8."""
    return pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"],
                         "date": pd.to_datetime(["2020-01-01", "2020-01-04", "2020-01-21", "2020-01-02",
                                                 "2020-01-16", "2020-01-09"]),
                         "spend": [10.0, 20.0, 30.0, 5.0, 15.0, 8.0]})


def test_bgnbd_tracking_marks_calibration_end_and_counts_actual_purchases():
    log = _tiny_log()
    rfm = rfm_summary(log, "2020-01-14", "2020-01-28")
    fit = BGNBDResult({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, np.eye(4), -1.0, 3)
    track = track_repeat_purchases(fit, rfm, log, "2020-01-28")
    fig = plot_bgnbd_tracking(track).figure
    cum, inc = fig.axes
    actual = cum.get_lines()[0]
    assert list(actual.get_ydata()) == [1, 1, 3, 3]  # repeat days: Jan 4 (day 3, week 1), Jan 16 and 21 (week 3)
    assert list(inc.get_lines()[0].get_ydata()) == [1, 0, 2, 0]
    marker = cum.get_lines()[2]
    assert marker.get_xdata()[0] == pytest.approx(2.0)  # calibration ends after 14 days = 2 weeks
    assert "count" in cum.get_ylabel() and "week" in inc.get_ylabel()
    plt.close(fig)


def test_btyd_clv_distribution_shows_concentration():
    log = _tiny_log()
    rfm = rfm_summary(log, "2020-01-28")
    bg = BGNBDResult({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, np.eye(4) * 1e-4, -1.0, 3)
    gg = GammaGammaResult({"p": 6.25, "q": 3.74, "gamma": 15.44}, np.eye(3) * 1e-4, -1.0, 2, 0.0)
    res = btyd_clv(bg, gg, rfm, margin=0.3, monthly_discount_rate=0.01, horizon_months=12, currency="USD", n_draws=0)
    fig = plot_btyd_clv_distribution(res).figure
    hist, conc = fig.axes
    assert "USD" in hist.get_xlabel()
    share = conc.get_lines()[0].get_ydata()
    assert share[-1] == pytest.approx(100.0) and np.all(np.diff(share) >= 0)
    plt.close(fig)


def test_campaign_profit_curve_marks_the_optimum():
    res = campaign_roi(np.array([0.5, 0.1, 0.02]), np.array([1000.0, 500.0, 100.0]), 0.2, 10.0, currency="EUR")
    fig = plot_campaign_profit_curve(res).figure
    (ax,) = fig.axes
    curve, optimum = ax.get_lines()[0], ax.get_lines()[-1]
    assert len(curve.get_xdata()) == 4
    assert optimum.get_ydata()[0] == pytest.approx(res.optimum["expected_profit"])
    assert "EUR" in ax.get_xlabel() and "EUR" in ax.get_ylabel()
    plt.close(fig)


def test_tornado_bars_sorted_by_swing_and_histogram():
    inputs = {"a": Uncertain(0.0, 0.5, 1.0, label="small"), "b": Uncertain(0.0, 1.0, 4.0, label="big")}
    mc = monte_carlo(lambda x: x["a"] - x["b"], inputs, n_draws=500, seed=0, output_label="net", output_unit="EUR")
    fig = plot_tornado(mc).figure
    bars, hist = fig.axes
    assert len(bars.patches) == 4  # low and high bar per input
    assert bars.get_yticklabels()[-1].get_text().startswith("big")  # largest swing on top
    assert "EUR" in bars.get_xlabel()
    assert "P(> 0)" in hist.get_title()
    plt.close(fig)


def test_two_panel_figures_split_a_given_axes():
    inputs = {"a": Uncertain(0.0, 0.5, 1.0, label="small"), "b": Uncertain(0.0, 1.0, 4.0, label="big")}
    mc = monte_carlo(lambda x: x["a"] - x["b"], inputs, n_draws=200, seed=0, output_label="net")
    fig, (left, right) = plt.subplots(1, 2)
    bars = plot_tornado(mc, ax=right)
    assert bars.figure is fig and len(fig.axes) == 3 and fig.axes[0] is left  # bars and histogram where `right` was
    assert len(bars.patches) == 4 and bars.get_position().x0 >= left.get_position().x1
    plt.close(fig)
