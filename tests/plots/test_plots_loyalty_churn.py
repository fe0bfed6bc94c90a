"""Tests for cxresearch.plots.loyalty and .churn: each returns a Figure with the expected marks."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import special

from cxresearch.churn.logit import fit_churn_logit
from cxresearch.loyalty.breakdowns import churn_by_level
from cxresearch.loyalty.metrics import nps
from cxresearch.plots.churn import plot_odds_ratios
from cxresearch.plots.loyalty import plot_churn_by_level, plot_nps_composition


def top_to_bottom(ax: plt.Axes) -> list[str]:
    """Y tick labels in reading order (top first)."""
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    return [t.get_text() for t in ticks]


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def snapshot() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 3000
    nps_last = rng.integers(0, 11, n).astype(float)
    nps_last[rng.random(n) < 0.5] = np.nan
    ces = rng.integers(1, 8, n).astype(float)
    contract = rng.choice(["monthly", "annual"], n, p=[0.6, 0.4])
    churned = rng.random(n) < special.expit(-2 + 0.3 * (ces - 4) - 0.7 * (contract == "annual"))
    return pd.DataFrame(
        {
            "active": True,
            "churned": churned,
            "nps_last": nps_last,
            "ces_mean_90d": ces,
            "reactive_90d": rng.poisson(1, n),
            "contract": contract,
        }
    )


def test_nps_composition_single_and_segments() -> None:
    ax = plot_nps_composition(nps([10, 9, 9, 8, 7, 6, 5, 0, 10, 3]))
    assert isinstance(ax, plt.Axes) and ax.figure.axes == [ax]
    assert len(ax.patches) == 3
    widths = sorted(round(p.get_width()) for p in ax.patches)
    assert widths == [20, 40, 40]
    ax = plot_nps_composition({"A": nps([10, 0, 8]), "B": nps([9, 9, 1]), "C": nps([7])})
    assert len(ax.patches) == 9
    assert [label.split("\n")[0] for label in top_to_bottom(ax)] == ["A", "B", "C"]


def test_churn_by_level_figure(snapshot: pd.DataFrame) -> None:
    table = churn_by_level(snapshot, "ces_mean_90d")
    ax = plot_churn_by_level(table, window_months=3)
    assert len(ax.patches) == len(table) == 7
    assert ax.get_ylabel() == "% churned within 3 months"
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(list(table["churn_pct"]))
    ax = plot_churn_by_level(churn_by_level(snapshot, "nps_last"))
    assert len(ax.patches) == 3
    assert ax.get_ylabel() == "% churned in the prediction window"


def test_odds_ratio_forest(snapshot: pd.DataFrame) -> None:
    result = fit_churn_logit(snapshot, features=["ces_mean_90d", "reactive_90d"], categorical=["contract"])
    ax = plot_odds_ratios(result)
    terms = result.summary().drop(index="Intercept")
    assert ax.get_xscale() == "log"
    assert len(ax.lines) == len(terms) + 1  # one CI line per term plus the reference line at 1
    assert any(np.allclose(line.get_xdata(), [1.0, 1.0]) for line in ax.lines)
    assert top_to_bottom(ax) == list(terms["label"])
    assert len(plot_odds_ratios(result, terms=["contract[annual]"]).lines) == 2
