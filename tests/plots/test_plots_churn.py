"""Tests for the churn evaluation and driver figures in cxresearch.plots.churn."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import special

from cxresearch.churn.drivers import PartialDependence, PartialDependenceBands
from cxresearch.churn.empc import CampaignParameters, empc
from cxresearch.churn.evaluation import evaluate_predictions
from cxresearch.plots.churn import (
    plot_calibration,
    plot_driver_importance,
    plot_gains,
    plot_partial_dependence,
    plot_profit_curve,
    plot_roc_pr,
)


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def evaluation():
    rng = np.random.default_rng(0)
    prob = special.expit(-2.5 + rng.normal(size=3000))
    y = (rng.random(3000) < prob).astype(int)
    return evaluate_predictions(y, {"a": prob, "b": np.clip(prob + rng.normal(0, 0.05, 3000), 0, 1)}, "t", n_boot=20)


def test_roc_pr_calibration_gains(evaluation) -> None:
    fig = plot_roc_pr(evaluation).figure
    roc_ax, pr_ax = fig.axes
    assert len(roc_ax.get_lines()) == 3 and len(pr_ax.get_lines()) == 3  # two models and the no-skill line
    assert "AUC" in roc_ax.get_title() and "%" not in roc_ax.get_xlabel()
    assert pr_ax.get_lines()[-1].get_ydata()[0] == pytest.approx(evaluation.event_rate)
    fig = plot_calibration(evaluation).figure
    assert fig.axes[0].get_xlabel() == "Predicted churn in the window (%)"
    fig = plot_gains(evaluation).figure
    line = fig.axes[0].get_lines()[0]
    assert line.get_xdata()[-1] == pytest.approx(100) and line.get_ydata()[-1] == pytest.approx(100)


def test_profit_curve_marks_the_optimum(evaluation) -> None:
    results = {m: empc(evaluation.y, p, CampaignParameters()) for m, p in evaluation.predictions.items()}
    fig = plot_profit_curve(results).figure
    ax = fig.axes[0]
    assert "EMPC" in ax.get_legend().get_texts()[0].get_text()
    assert "CLV 200" in ax.get_title()


def test_importance_and_partial_dependence() -> None:
    table = pd.DataFrame({"label": ["A", "B"], "w": [10.0, 90.0], "ci_low": [5.0, 80.0], "ci_high": [15.0, 95.0]})
    fig = plot_driver_importance(table, "w", "Share (%)").figure
    ax = fig.axes[0]
    assert [round(p.get_width()) for p in ax.patches] == [10, 90]
    assert ax.get_xlabel() == "Share (%)"
    curve = PartialDependence("ces_last", "CES", pd.DataFrame({"value": [1, 2, 3], "churn_pct": [2.0, 3.0, 5.0]}))
    fig = plot_partial_dependence([curve, curve]).figure
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "CES"


def test_partial_dependence_bands_are_drawn() -> None:
    table = pd.DataFrame({"value": [1.0, 2.0, 3.0], "churn_pct": [2.0, 3.0, 5.0], "se": [0.5, 0.4, 1.0],
                          "ci_low": [1.0, 2.2, 3.0], "ci_high": [3.0, 3.8, 7.0]})
    curve = PartialDependence("ces_mean_90d", "CES (points)", table, range_points=3.0, range_ci=(1.0, 5.0))
    fig = plot_partial_dependence(PartialDependenceBands([curve], n_boot=20, n_train=100, n_eval=50)).figure
    ax = fig.axes[0]
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(1.0) and band[:, 1].max() == pytest.approx(7.0)
    assert "20 bootstrap refits" in fig._suptitle.get_text()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["partial dependence", "95% band (refits)"]
    plain = PartialDependence("ces_mean_90d", "CES (points)", table.drop(columns=["ci_low", "ci_high"]))
    fig = plot_partial_dependence([plain]).figure
    assert not fig.axes[0].collections  # plain curves: no band


def test_figures_draw_into_a_given_axes_and_leave_the_theme_alone(evaluation) -> None:
    theme = dict(plt.rcParams)
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_gains(evaluation, ax=right) is right and plot_calibration(evaluation, ax=left) is left
    roc = plot_roc_pr(evaluation, ax=right)  # two panels in the right half: the left Axes stays
    assert roc.figure is fig and len(fig.axes) == 3 and fig.axes[0] is left
    assert roc.get_position().x0 >= left.get_position().x1  # both panels sit where `right` was
    assert dict(plt.rcParams) == theme
