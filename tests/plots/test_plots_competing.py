"""The competing-risks figures: one colour per reason in every chart, small multiples on shared axes whose bands
end at each segment's incidences."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from cxresearch.data.schema import END_REASONS
from cxresearch.plots.competing import (
    CAUSE_COLOURS,
    cause_colour,
    plot_cumulative_incidence_by_segment,
    plot_cumulative_incidence_stacked,
)
from cxresearch.report.figures import plot_why_customers_leave
from cxresearch.survival.competing import cumulative_incidence

CAUSES = ["service", "price", "moved"]


@pytest.fixture(scope="module")
def lifetimes() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = 1_500
    segment = rng.choice(["a", "b", "c"], n)
    end = np.ceil(rng.exponential(np.where(segment == "a", 10.0, 30.0)))
    censor = np.ceil(rng.uniform(1, 40, n))
    event = end <= censor
    reason = np.where(event, rng.choice(CAUSES, n, p=[0.55, 0.3, 0.15]), None)
    # segment c never leaves for price: its panel draws a zero band in price's place
    reason = np.where((segment == "c") & (reason == "price"), "service", reason)
    return pd.DataFrame({"duration_months": np.minimum(end, censor), "event": event, "end_reason": reason,
                         "segment": segment})


def _band_colours(ax: plt.Axes) -> dict[str, str]:
    """Reason -> face colour of its band."""
    return {c.get_label(): to_hex(c.get_facecolor()[0]) for c in ax.collections if not c.get_label().startswith("_")}


def test_every_canonical_reason_has_its_own_colour():
    assert set(END_REASONS) <= set(CAUSE_COLOURS)
    assert len({CAUSE_COLOURS[r] for r in END_REASONS}) == len(END_REASONS)
    # a company's own label gets a colour of its own, the same whatever else is drawn
    assert cause_colour("Billing dispute", ["Billing dispute", "Network"]) == cause_colour("Billing dispute", [])
    assert cause_colour("Network", ["Billing dispute", "Network"]) not in {*CAUSE_COLOURS.values(),
                                                                          cause_colour("Billing dispute")}


def test_panels_share_axes_and_colours_and_end_at_the_incidences(lifetimes):
    by_segment = cumulative_incidence(lifetimes, group="segment")
    first = plot_cumulative_incidence_by_segment(by_segment, max_months=36, segment="segment")
    axes = first.figure.axes
    assert len(axes) == 3 and {ax.get_ylim() for ax in axes} == {axes[0].get_ylim()}
    assert {ax.get_xlim() for ax in axes} == {(0.0, 36.0)}
    overall = plot_cumulative_incidence_stacked(cumulative_incidence(lifetimes), max_months=36)
    expected = {cause: to_hex(CAUSE_COLOURS[cause]) for cause in CAUSES}
    for ax in (*axes, overall):
        assert _band_colours(ax) == expected
    # each panel's title: how many of 100 of that segment had left by month 36, all reasons together
    at_36 = by_segment.summary([36]).groupby("group")["cif"].sum()
    for ax, group in zip(axes, ["a", "b", "c"], strict=True):
        assert ax.get_title().splitlines() == [group, f"{100 * at_36[group]:.0f} of 100 left by month 36"]
    # one legend, top band first: the reasons stacked in the same order in every panel, largest pooled at the bottom
    assert [t.get_text() for t in first.figure.legends[0].get_texts()] == ["moved", "price", "service"]
    plt.close("all")


def test_the_executive_chart_colours_each_reason_as_the_notebook_does():
    class Suite:
        def table(self, notebook: str, name: str) -> pd.DataFrame:
            return pd.DataFrame({"group": "all", "cause": CAUSES, "months": 24.0, "cif": [0.2, 0.1, 0.05],
                                 "ci_low": [0.18, 0.08, 0.04], "ci_high": [0.22, 0.12, 0.06]})

    ax = plot_why_customers_leave(Suite())
    colours = {t.get_text(): to_hex(p.get_facecolor()) for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert colours == {cause: to_hex(CAUSE_COLOURS[cause]) for cause in CAUSES}
    plt.close(ax.figure)
