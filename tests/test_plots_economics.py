"""Smoke-and-shape tests for the sBG, BG/NBD, campaign and tornado figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxresearch.economics import BGNBDResult, Uncertain, campaign_roi, fit_sbg, monte_carlo
from cxresearch.plots.economics import bgnbd_holdout, campaign_profit_curve, sbg_projection, tornado


@pytest.fixture(autouse=True)
def no_figures_left_open():
    yield
    left_open = plt.get_fignums()
    plt.close("all")
    assert left_open == []


def test_sbg_projection_marks_calibration_and_projects_beyond():
    full = [1000, 631, 468, 382, 326, 289, 262, 241]
    fit = fit_sbg(full[:5])
    fig = sbg_projection(fit, observed=[full], period_label="Years")
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
    fig = bgnbd_holdout(fit, rfm, max_frequency=7)
    (ax,) = fig.axes
    actual, expected = ax.get_lines()
    assert list(actual.get_xdata()) == [0, 1, 2, 7]  # 9 and 12 fall in the 7+ bin
    assert list(actual.get_ydata()) == [0.5, 1.0, 2.0, 7.0]
    assert "holdout" in ax.get_ylabel()
    plt.close(fig)


def test_campaign_profit_curve_marks_the_optimum():
    res = campaign_roi(np.array([0.5, 0.1, 0.02]), np.array([1000.0, 500.0, 100.0]), 0.2, 10.0, currency="EUR")
    fig = campaign_profit_curve(res)
    (ax,) = fig.axes
    curve, optimum = ax.get_lines()[0], ax.get_lines()[-1]
    assert len(curve.get_xdata()) == 4
    assert optimum.get_ydata()[0] == pytest.approx(res.optimum["expected_profit"])
    assert "EUR" in ax.get_xlabel() and "EUR" in ax.get_ylabel()
    plt.close(fig)


def test_tornado_bars_sorted_by_swing_and_histogram():
    inputs = {"a": Uncertain(0.0, 0.5, 1.0, label="small"), "b": Uncertain(0.0, 1.0, 4.0, label="big")}
    mc = monte_carlo(lambda x: x["a"] - x["b"], inputs, n_draws=500, seed=0, output_label="net", output_unit="EUR")
    fig = tornado(mc)
    bars, hist = fig.axes
    assert len(bars.patches) == 4  # low and high bar per input
    assert bars.get_yticklabels()[-1].get_text().startswith("big")  # largest swing on top
    assert "EUR" in bars.get_xlabel()
    assert "P(> 0)" in hist.get_title()
    plt.close(fig)
