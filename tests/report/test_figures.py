"""The executive summary's figures (`report.figures`): what each draws, in numbers, from hand-made results files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxresearch.plots import PALETTE
from cxresearch.report.figures import (
    plot_churn_by_nps_group,
    plot_driver_effects,
    plot_experiment_effects,
    plot_lifetime_curves,
)
from cxresearch.report.results import Provenance, Results
from cxresearch.report.suite_results import load_suite_results
from cxresearch.stats.estimate import Estimate


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _write(directory: Path, notebook: str, extra: dict | None = None, **tables: pd.DataFrame) -> None:
    res = Results(notebook=notebook, parameters={"horizon_months": 3, "as_of": "2024-06-01"}, data_fingerprint="x",
                  extra=extra or {}, provenance=Provenance(source="demo", observed_until="2024-12-31"))
    for key, table in tables.items():
        res.add_table(key, table)
    res.write(directory)


def test_churn_by_nps_group_hides_small_groups_and_names_the_window(tmp_path: Path) -> None:
    by_group = pd.DataFrame({"nps_group": ["detractor", "passive", "promoter"], "n": [200, 8, 300],
                             "n_churned": [40, 1, 15], "churn_pct": [20.0, 12.5, 5.0],
                             "ci_low": [15.0, 2.0, 3.0], "ci_high": [26.0, 47.0, 8.1]})
    _write(tmp_path, "04_loyalty_metrics", churn_by_nps_group=by_group)
    ax = plot_churn_by_nps_group(load_suite_results(tmp_path), min_cell_size=10)
    # the passive group (8 customers) is under the minimum cell size: two bars, at the groups' rates
    assert [p.get_height() for p in ax.patches] == pytest.approx([20.0, 5.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["detractor\n(n=200)", "promoter\n(n=300)"]
    assert ax.get_title() == "Churn by latest NPS group: churned within 3 months of 2024-06-01"
    assert ax.get_ylabel() == "% churned within 3 months"


def test_lifetime_curves_draw_percent_still_active_per_segment_large_enough(tmp_path: Path) -> None:
    km = pd.DataFrame({"group": ["annual"] * 3 + ["monthly"] * 3 + ["tiny"] * 3, "time": [0, 6, 12] * 3,
                       "survival": [1.0, 0.9, 0.8, 1.0, 0.6, 0.4, 1.0, 0.5, 0.5],
                       "ci_low": [1.0, 0.85, 0.74, 1.0, 0.55, 0.35, 1.0, 0.2, 0.2],
                       "ci_high": [1.0, 0.95, 0.86, 1.0, 0.65, 0.45, 1.0, 0.8, 0.8]})
    medians = pd.DataFrame({"group": ["annual", "monthly", "tiny"], "n": [500, 400, 5]})
    _write(tmp_path, "03_customer_lifetime", km_by_contract=km, medians_by_contract=medians)
    ax = plot_lifetime_curves(load_suite_results(tmp_path), "contract", min_cell_size=10)
    assert [line.get_label() for line in ax.lines] == ["annual", "monthly"]
    assert list(ax.lines[1].get_ydata()) == pytest.approx([100.0, 60.0, 40.0])
    assert ax.get_ylim() == (0, 101) and ax.get_title() == "How long customers stay, by contract"


def test_driver_effects_from_the_pooled_claims_in_display_order_coloured_by_direction(tmp_path: Path) -> None:
    evidence = pd.DataFrame({"id": ["1a", "3a", "4a"], "estimate": [0.9, 1.3, 0.8], "ci_low": [0.85, 1.1, 0.7],
                             "ci_high": [0.95, 1.5, 0.9], "unit": ["odds ratio per point"] * 3,
                             "verdict": ["supported"] * 3})
    _write(tmp_path, "04_loyalty_metrics", evidence=evidence)
    ax = plot_driver_effects(load_suite_results(tmp_path))
    # CX_DRIVERS order top to bottom: effort (3a), NPS (1a), proactive (4a)
    points = ax.collections[-1]
    assert points.get_offsets()[:, 0].tolist() == pytest.approx([1.3, 0.9, 0.8])
    assert points.get_offsets()[:, 1].tolist() == [2, 1, 0]
    colours = [tuple(np.round(c[:3], 3)) for c in points.get_facecolors()]
    more, less = (tuple(np.round(plt.matplotlib.colors.to_rgb(PALETTE[i]), 3)) for i in (3, 0))
    assert colours == [more, less, less]
    labels = [t.get_text() for t in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    assert labels[0] == "Effort (CES), 90-day mean (per point)" and ax.get_xscale() == "log"


def test_experiment_effects_draw_each_campaign_beside_its_best_policy(tmp_path: Path) -> None:
    heads = [{"campaign": "proactive_follow_up", "arm": "treatment", "outcome": "churn within 12 months",
              "effect": "e1", "profit": "p1", "policy": "uplift (DR-learner)"},
             {"campaign": "mail", "arm": "b", "outcome": "visit", "effect": "e2", "profit": "", "policy": ""},
             {"campaign": "lost", "arm": "a", "outcome": "visit", "effect": "gone", "profit": "", "policy": ""}]
    res = Results(notebook="09_experiments", parameters={}, data_fingerprint="x",
                  extra={"experiment_campaigns": ["proactive_follow_up", "mail"], "experiment_headlines": heads})
    res.estimates.update({
        "e1": Estimate(-1.75, "percentage points", "churn", -3.5, 0.03),
        "e2": Estimate(2.0, "percentage points", "visit", 1.0, 3.0),
        "p1": Estimate(5.8, "EUR", "profit", -0.6, 13.3),
    })
    res.write(tmp_path)
    suite = load_suite_results(tmp_path)
    left = plot_experiment_effects(suite, "EUR")
    right = next(ax for ax in left.figure.axes if ax is not left)
    # in the results' order, top row first; the campaign whose effect has no number is left out
    assert [t.get_text() for t in left.get_yticklabels()] == [
        "proactive follow up: treatment\n(churn within 12 months)", "mail: b\n(visit)"]
    assert [t.get_position()[1] for t in left.get_yticklabels()] == [1, 0]
    assert [p.get_width() for p in left.patches] == pytest.approx([-1.75, 2.0])
    low, high = left.collections[0].get_segments()[0][:, 0]
    assert (low, high) == pytest.approx((-3.5, 0.03))
    assert left.get_xlabel() == "Effect vs holdout\n(percentage points)"
    # the arm without a policy comparison has no profit bar (NaN) and no note
    assert right.patches[0].get_width() == pytest.approx(5.8) and np.isnan(right.patches[1].get_width())
    assert right.collections[0].get_segments()[0][:, 0] == pytest.approx([-0.6, 13.3])
    assert [t.get_text() for t in right.texts] == ["best: uplift (DR-learner)"]
    assert right.get_xlabel() == "Profit per customer vs contacting no one\n(EUR)"
    res.extra["experiment_headlines"] = heads[2:]
    res.write(tmp_path)
    assert plot_experiment_effects(load_suite_results(tmp_path)) is None
