"""Tests for the trend, by-group and non-response figures in cxresearch.plots.loyalty."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxresearch.loyalty.breakdowns import metric_by, monthly_trend
from cxresearch.loyalty.metrics import nps
from cxresearch.loyalty.nonresponse import WeightedNPS
from cxresearch.plots.loyalty import (
    error_bars,
    plot_churn_by_level,
    plot_metric_by,
    plot_metric_trend,
    plot_nonresponse_correction,
)
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import wilson_pct


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def test_metric_trend_line_and_band() -> None:
    rng = np.random.default_rng(0)
    surveys = pd.DataFrame({
        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, 600), unit="D"),
        "instrument": "nps", "score": rng.integers(0, 11, 600),
    })
    trend = monthly_trend(surveys, "nps")
    ax = plot_metric_trend(trend, "NPS by month")
    assert list(ax.lines[0].get_ydata()) == pytest.approx(list(trend["value"]))
    assert len(ax.collections) == 1 and ax.get_ylabel() == "points"
    assert ax.get_title() == "NPS by month"


def test_metric_by_points_in_table_order() -> None:
    table = metric_by(pd.Series([5, 4, 3, 5, 1, 2] * 10), pd.Series(["phone", "chat"] * 30), "csat")
    ax = plot_metric_by(table, "CSAT by channel")
    labels = [t.get_text() for t in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    assert labels == ["chat (n=30)", "phone (n=30)"] and ax.get_xlabel() == "%"
    # one point per group, drawn top to bottom in the table's order
    assert [c.lines[0].get_xdata()[0] for c in ax.containers] == pytest.approx(list(table["value"]))


def test_nonresponse_correction_with_truth_line() -> None:
    raw = nps([10, 9, 8, 3, 10, 10])
    result = WeightedNPS(raw, Estimate(20.0, "points", "IPW NPS", 5.0, 35.0, 10), Estimate(60.0, "%", "answered", n=10), 5.5,
                         ("churned",))
    ax = plot_nonresponse_correction(result, truth=10.0)
    xs = sorted(float(container.lines[0].get_xdata()[0]) for container in ax.containers)
    assert xs == pytest.approx(sorted([raw.score, 20.0]))
    assert any(np.allclose(line.get_xdata(), [10.0, 10.0]) for line in ax.lines)
    assert ax.get_xlabel().startswith("NPS (points")


def test_churn_by_level_draws_a_level_where_nobody_churned() -> None:
    """A level with 0 churners (Wilson CI 0 to 43.4% for n = 5) once gave matplotlib a negative error bar."""
    table = pd.DataFrame({"n": [5, 40], "n_churned": [0, 10], "churn_pct": [0.0, 25.0]}, index=["promoter", "detractor"])
    bounds = [wilson_pct(0, 5), wilson_pct(10, 40)]
    table["ci_low"], table["ci_high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    ax = plot_churn_by_level(table, window_months=3)
    assert ax.patches[0].get_height() == 0.0
    err = error_bars(table["churn_pct"], table["ci_low"], table["ci_high"])
    assert err.min() >= 0.0 and err[1, 0] == pytest.approx(bounds[0][1])
    assert error_bars([50.0], [50.0 + 1e-13], [np.nan]).tolist() == [[0.0], [0.0]]
