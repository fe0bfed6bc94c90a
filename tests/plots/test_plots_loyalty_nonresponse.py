"""Tests for the CSAT/CES non-response figure in cxresearch.plots.loyalty."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from cxresearch.loyalty.nonresponse import WeightedScores
from cxresearch.plots.loyalty import plot_score_nonresponse


def test_score_nonresponse_shows_raw_and_corrected_per_metric() -> None:
    table = pd.DataFrame({"unit": ["%", "points (1-5)"], "label": ["CSAT satisfied (4-5)", "CSAT mean score"],
                          "raw": [64.0, 3.8], "raw_ci_low": [63.0, 3.78], "raw_ci_high": [65.0, 3.82],
                          "ipw": [56.0, 3.6], "ci_low": [54.0, 3.55], "ci_high": [58.0, 3.65]},
                         index=["top2_pct", "mean"])
    result = WeightedScores("csat", table, 40.0, 1000, 400, 300.0, ["churned"])
    axes = plot_score_nonresponse({"csat": result})
    fig = axes[0].figure
    try:
        assert len(axes) == 2 and fig.axes == axes
        ax = axes[0]
        assert ax.get_xlabel() == "CSAT satisfied (4-5) (%)"
        # each errorbar: marker + 2 caps; the corrected estimate is drawn at y = 0, the raw one at y = 1
        points = {float(line.get_ydata()[0]): float(line.get_xdata()[0]) for line in ax.get_lines()[::3]}
        assert (points[0.0], points[1.0]) == pytest.approx((56.0, 64.0))
        assert "n=1,000" in ax.get_yticklabels()[0].get_text()
        assert result.correction("top2_pct") == pytest.approx(-8.0)
    finally:
        plt.close(fig)
