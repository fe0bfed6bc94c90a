"""The experiment figures draw the numbers of their result objects on the Axes they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cxresearch.experiments.policy import compare_policies
from cxresearch.experiments.qini import qini_curve
from cxresearch.plots.experiments import plot_policy_comparison, plot_qini


@pytest.fixture()
def experiment() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    score = rng.random(400)
    treated = rng.random(400) < 0.5
    return score, treated, (rng.random(400) < 0.2 + 0.3 * score * treated).astype(float)


def test_plot_qini_draws_each_curve_and_random(experiment) -> None:
    score, treated, y = experiment
    curves = [qini_curve(score, treated, y, n_boot=20, label="true score"),
              qini_curve(-score, treated, y, n_boot=20, label="reversed")]
    fig, ax = plt.subplots()
    assert plot_qini(curves, ax=ax) is ax
    lines = ax.get_lines()
    assert [line.get_label().split(" (")[0] for line in lines] == ["true score", "reversed", "random targeting"]
    np.testing.assert_allclose(lines[0].get_ydata(), curves[0].qini)
    np.testing.assert_allclose(lines[2].get_ydata(), curves[0].fraction * curves[0].qini[-1])
    assert "Qini" in lines[0].get_label() and ax.get_xlim()[1] >= 100
    plt.close(fig)


def test_plot_policy_comparison_bars_are_the_profits(experiment) -> None:
    score, treated, y = experiment
    result = compare_policies({"top half": score > 0.5}, treated, 10 * y, cost=0.5, n_boot=30, currency="USD")
    ax = plot_policy_comparison(result)
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths, result.table["profit_per_customer"].to_numpy()[::-1])
    labels = [tick.get_text().split("\n")[0] for tick in ax.get_yticklabels()]
    assert labels == ["top half", "no one", "everyone"] and "USD" in ax.get_xlabel()
    plt.close(ax.figure)
