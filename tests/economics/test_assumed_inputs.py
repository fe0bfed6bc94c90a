"""Figures resting on inputs nobody measured are ranges over those inputs, never confidence intervals (issue 15).

Known truth: the triangular distribution's percentiles in closed form, the break-even save rates by hand, and the
executive page's sentences on results written here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxresearch.economics import (
    RetentionCampaign,
    Valuation,
    clv_from_survival,
    residual_clv,
    retention_vs_acquisition,
)
from cxresearch.economics.retention import ASSUMED, IMPOSSIBLE
from cxresearch.economics.sensitivity import (
    Uncertain,
    cost_ratio_range,
    retention_vs_acquisition_model,
    value_break_even_save_rate,
)
from cxresearch.plots.economics import plot_acquisition_vs_retention
from cxresearch.report.key_figures import changes_html, compare_runs, kpi_tiles_html
from cxresearch.report.record.economics import record_economics
from cxresearch.report.results import Results, read_results
from cxresearch.report.retention_text import retention_vs_acquisition_text
from cxresearch.report.suite_results import load_suite_results
from cxresearch.stats.estimate import Estimate

NB = "05_retention_economics"
CLV = Estimate(500.0, "EUR", "CLV", 450.0, 550.0)


def customers(n: int = 2000, cac: float | None = 200.0, seed: int = 0) -> pd.DataFrame:
    """Exponential lifetimes (hazard 0.03/month), margin 20; acquisition cost `cac` +/- 1 when given."""
    rng = np.random.default_rng(seed)
    life, censor = rng.exponential(1 / 0.03, n), rng.uniform(0, 36, n)
    df = pd.DataFrame({"duration_months": np.minimum(life, censor), "event": life <= censor,
                       "monthly_margin": 20.0})
    df["active"] = ~df["event"]
    if cac is not None:
        df["acquisition_cost"] = cac + np.tile([-1.0, 1.0], n // 2)
    return df


def triangular_quantile(q: float, low: float, mode: float, high: float) -> float:
    """Closed-form quantile of the triangular distribution."""
    if q <= (mode - low) / (high - low):
        return low + np.sqrt(q * (high - low) * (mode - low))
    return high - np.sqrt((1 - q) * (high - low) * (high - mode))


def test_break_even_save_rates_by_hand() -> None:
    # demo-world costs: CAC 160 (given), contact 25 + incentive 10 = 35 per contacted customer, save rate 15%
    econ = retention_vs_acquisition(customers(cac=None), RetentionCampaign(25.0, 0.15, 10.0, save_rate_range=(0.05, 0.25)),
                                    acquisition_cost=160.0, clv=CLV)
    assert econ.cost_ratio.value == pytest.approx(160 * 0.15 / 35)  # 0.686
    assert econ.cost_ratio.ci_low is None and econ.cost_ratio.ci_high is None
    # cheaper than acquisition above 35 / 160 = 21.875%; 7x needs 7 x 35 / 160 = 153.1%: no save rate is enough
    assert econ.break_even_save_rate.value == pytest.approx(21.875)
    assert econ.claim_save_rate.value == pytest.approx(153.125) and econ.claim_verdict == IMPOSSIBLE
    assert econ.retention_cost_per_save.ci_low is None  # 35 / 15% = 233.33 rests on the assumed save rate
    assert econ.retention_cost_per_save.value == pytest.approx(35 / 0.15)
    assert any("more than 21.9% of contacted at-risk customers stay" in note for note in econ.notes)
    assert any("would need a save rate of 153%" in note for note in econ.notes)
    # a cheaper contact makes 7x reachable: 7 x 10 / 160 = 43.75%, above the assumed 5-25% but no verdict
    cheap = retention_vs_acquisition(customers(cac=None), RetentionCampaign(10.0, 0.15, save_rate_range=(0.05, 0.25)),
                                     acquisition_cost=160.0, clv=CLV)
    assert cheap.claim_save_rate.value == pytest.approx(43.75) and cheap.claim_verdict == ASSUMED
    assert any("43.8% of contacted at-risk customers stay because of the contact (above the assumed 5%-25%)"
               in note for note in cheap.notes)


def test_ratio_range_is_the_triangular_percentiles_and_widens_with_the_save_rate_assumption() -> None:
    kwargs = dict(acquisition_cost=200.0, clv=CLV)
    narrow = retention_vs_acquisition(customers(cac=None), RetentionCampaign(20.0, 0.15, save_rate_range=(0.10, 0.20)),
                                      **kwargs)
    wide = retention_vs_acquisition(customers(cac=None), RetentionCampaign(20.0, 0.15, save_rate_range=(0.05, 0.25)),
                                    **kwargs)
    # costs held fixed (uncertainty 0): ratio = 200 / 20 x save rate, so its percentiles are 10x the save rate's
    r_narrow = cost_ratio_range(narrow, uncertainty=0.0, n_draws=40000, seed=1)
    r_wide = cost_ratio_range(wide, uncertainty=0.0, n_draws=40000, seed=1)
    assert r_wide.low == pytest.approx(10 * triangular_quantile(0.05, 0.05, 0.15, 0.25), abs=0.02)  # 0.816
    assert r_wide.high == pytest.approx(10 * triangular_quantile(0.95, 0.05, 0.15, 0.25), abs=0.02)  # 2.184
    assert r_narrow.low == pytest.approx(10 * triangular_quantile(0.05, 0.10, 0.15, 0.20), abs=0.02)  # 1.158
    assert r_wide.high - r_wide.low > 1.9 * (r_narrow.high - r_narrow.low)  # twice as wide an assumption
    assert r_wide.base == pytest.approx(1.5) and r_wide.low < r_wide.base < r_wide.high
    # uncertain costs widen it further
    assert cost_ratio_range(wide, uncertainty=0.25, n_draws=40000, seed=1).high > r_wide.high


def test_a_measured_acquisition_cost_enters_with_its_ci_and_assumed_inputs_are_marked() -> None:
    econ = retention_vs_acquisition(customers(cac=200.0), RetentionCampaign(20.0, 0.15, 5.0, save_rate_range=(0.05, 0.25)),
                                    clv=CLV)
    table = cost_ratio_range(econ, n_draws=2000).inputs_table().set_index("input")
    assert table.loc["acquisition_cost", "source"] == "measured"
    assert table.loc["acquisition_cost", "low"] == pytest.approx(econ.acquisition_cost.ci_low)
    assert (table.drop(index="acquisition_cost")["source"] == "assumed").all()
    assert table.loc["save_rate", ["low", "base", "high"]].tolist() == pytest.approx([0.05, 0.15, 0.25])
    assert set(table.index) == {"save_rate", "contact_cost", "incentive_cost", "acquisition_cost"}
    given = retention_vs_acquisition(customers(cac=None), RetentionCampaign(20.0, 0.15), acquisition_cost=200.0, clv=CLV)
    assert cost_ratio_range(given, n_draws=500).inputs_table().set_index("input").loc[
        "acquisition_cost", "source"] == "assumed"
    assert Uncertain(0.05, 0.15, 0.25, "share", "Save rate").describe() == "Save rate 5%-25% (most likely 15%)"
    assert Uncertain(190.0, 200.0, 210.0, "EUR", "CAC", measured=True).describe() == (
        "CAC 200.00 EUR (95% CI 190.00-210.00)")


def test_the_range_is_recorded_as_two_plain_figures_never_as_a_ci() -> None:
    econ = retention_vs_acquisition(customers(cac=None), RetentionCampaign(25.0, 0.15, 10.0, save_rate_range=(0.05, 0.25)),
                                    acquisition_cost=160.0, clv=CLV)
    spread = cost_ratio_range(econ, n_draws=2000)
    estimates = spread.to_estimates("acquisition_to_retention_cost_ratio")
    low = estimates["acquisition_to_retention_cost_ratio_assumed_low"]
    assert low.value == pytest.approx(spread.low) and low.ci_low is None and "CI" not in low.format(2)
    assert "5th percentile over the assumed inputs" in low.label and "not a confidence interval" in low.note


def test_value_break_even_is_the_zero_of_the_value_model() -> None:
    df = customers(n=4000)
    clv = clv_from_survival(df, Valuation(n_boot=0, horizon_months=36))
    resid = residual_clv(df, Valuation(n_boot=0, horizon_months=36))
    share = value_break_even_save_rate(clv, resid, acquisition_cost=200.0, cost_per_contact=30.0)
    horizon = 36
    stream_new = clv.table["monthly_margin"].iloc[0] * clv.curves["survival"].to_numpy(float)[:horizon]
    model = retention_vs_acquisition_model(resid.stream[:horizon], stream_new)
    x = {"save_rate": np.array([share]), "contact_cost": np.array([30.0]), "acquisition_cost": np.array([200.0]),
         "margin_multiplier": np.array([1.0]), "monthly_discount_rate": np.array([clv.monthly_discount_rate])}
    assert model(x)[0] == pytest.approx(0.0, abs=1e-12)
    # a memoryless world: a kept customer is worth about a new one, so the break-even is close to 30 / 200
    assert share == pytest.approx(0.15, rel=0.1)


def _economics_run(directory: Path, ratio: float, low: float, high: float, with_range: bool = True,
                   ci: float = 0.01) -> None:
    """A notebook-05 results file with the cost ratio (narrow sampling CI), optionally its assumed range."""
    estimates = {"acquisition_to_retention_cost_ratio": Estimate(ratio, "ratio", "r", ratio - ci, ratio + ci),
                 "break_even_save_rate": Estimate(21.875, "%", "b"), "claim_save_rate": Estimate(153.125, "%", "c"),
                 "p_retention_beats_acquisition": Estimate(18.0, "%", "p", 17.0, 19.0, n=5000)}
    if with_range:
        estimates["acquisition_to_retention_cost_ratio_assumed_low"] = Estimate(low, "ratio", "low")
        estimates["acquisition_to_retention_cost_ratio_assumed_high"] = Estimate(high, "ratio", "high")
    res = Results(notebook=NB, parameters={"retention_save_rate": 0.15, "claim_multiple": 7.0},
                  data_fingerprint="x", estimates=estimates)
    res.add_table("retention_inputs", pd.DataFrame(
        [{"input": "save_rate", "label": "Save rate", "low": 0.05, "base": 0.15, "high": 0.25, "unit": "share",
          "source": "assumed"}]))
    res.write(directory)


def test_the_executive_sentence_gives_the_range_and_break_even_not_a_ci(tmp_path: Path) -> None:
    _economics_run(tmp_path, 0.69, 0.32, 1.15)
    text = retention_vs_acquisition_text(load_suite_results(tmp_path))
    assert "CI" not in text and "contradicted" not in text and "supported" not in text
    assert text.startswith("Acquiring a customer costs between 0.32 and 1.15 times what it costs to keep one at "
                           "risk, depending on the save rate (assumed 5-25%")
    assert "if more than 22% of contacted at-risk customers stay because of the contact" in text
    assert 'The often-quoted "7 times cheaper" would need 153% of them to stay: not possible at these costs.' in text


def test_the_ratio_tile_shows_its_range_over_the_assumptions_not_a_ci(tmp_path: Path) -> None:
    _economics_run(tmp_path, 0.69, 0.32, 1.15)
    tiles = kpi_tiles_html(load_suite_results(tmp_path))
    assert "0.32 to 1.15 over the assumed inputs" in tiles and "95% CI" not in tiles


def test_a_change_within_the_assumed_range_is_not_flagged(tmp_path: Path) -> None:
    # sampling CIs of +/- 0.01 would call 0.69 -> 0.80 real (z ~ 15); the assumed ranges overlap, so it is not
    _economics_run(tmp_path / "before", 0.69, 0.32, 1.15)
    _economics_run(tmp_path / "now", 0.80, 0.37, 1.33)
    row = compare_runs(load_suite_results(tmp_path / "now"), load_suite_results(tmp_path / "before")).iloc[0]
    assert row["change"] == pytest.approx(0.11)
    assert row["beyond_uncertainty"] is not None and not row["beyond_uncertainty"]
    assert row["basis"] == "assumed range"
    assert row["figure"] == "Acquisition cost / cost to save a customer, at an assumed save rate of 15%"
    assert "no: within the range over its assumptions" in changes_html(pd.DataFrame([row]))
    # ranges that do not overlap: a change beyond everything that was assumed
    _economics_run(tmp_path / "far", 3.0, 1.4, 5.0)
    far = compare_runs(load_suite_results(tmp_path / "far"), load_suite_results(tmp_path / "before")).iloc[0]
    assert bool(far["beyond_uncertainty"])


def test_a_run_without_a_range_is_not_compared_on_sampling_error(tmp_path: Path) -> None:
    _economics_run(tmp_path / "before", 0.96, 0.0, 0.0, with_range=False)  # an older run: delta-method CI only
    _economics_run(tmp_path / "now", 0.69, 0.32, 1.15)
    row = compare_runs(load_suite_results(tmp_path / "now"), load_suite_results(tmp_path / "before")).iloc[0]
    assert np.isnan(row["change"]) and row["beyond_uncertainty"] is None
    assert "rests on assumptions: not compared" in changes_html(pd.DataFrame([row]))


def test_record_economics_writes_no_ci_on_assumed_figures(tmp_path: Path) -> None:
    econ = retention_vs_acquisition(customers(cac=None), RetentionCampaign(25.0, 0.15, 10.0, save_rate_range=(0.05, 0.25)),
                                    acquisition_cost=160.0, clv=CLV)
    res = Results(notebook=NB, parameters={"retention_save_rate": 0.15}, data_fingerprint="x")
    record_economics(res, "contract", valuation=Valuation(0.008, 60), econ=econ,
                     ratio_range=cost_ratio_range(econ, n_draws=2000))
    for key in ("acquisition_to_retention_cost_ratio", "retention_cost_per_save", "break_even_save_rate",
                "claim_save_rate"):
        assert res.estimates[key].ci_low is None, key
    assert "rests on assumptions" in res.estimates["acquisition_to_retention_cost_ratio"].note
    finding = res.findings[-1]
    assert "95% CI" not in finding and "contradicted" not in finding
    assert "the 7x claim would need 153% of them to stay: not possible at these costs" in finding
    assert res.findings[0] == ("A new customer is worth 500 EUR (95% CI 450 to 550) over 60 months, discounted at "
                               "an assumed 0.8% a month.")


def test_the_figure_marks_the_assumed_save_rate(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    econ = retention_vs_acquisition(customers(cac=None), RetentionCampaign(25.0, 0.15, 10.0, save_rate_range=(0.05, 0.25)),
                                    acquisition_cost=160.0, clv=CLV)
    fig = plot_acquisition_vs_retention(econ, ratio_range=cost_ratio_range(econ, n_draws=2000)).figure
    ax = fig.axes[0]
    title = ax.get_title()
    assert "95% CI" not in title and "over the assumed inputs" in title and "153%" in title
    assert ax.patches[-1].get_hatch() == "//"
    assert "save rate assumed" in ax.get_xticklabels()[-1].get_text()
    plt.close(fig)


def test_the_ratio_tile_names_a_measured_save_rate_as_measured(tmp_path: Path) -> None:
    _economics_run(tmp_path, 0.84, 0.55, 1.12)
    res = read_results(tmp_path / f"{NB}.json")
    res.extra["label_fields"] = {"save_rate_basis": "a measured", "retention_save_rate": 0.183}
    res.write(tmp_path)
    tiles = kpi_tiles_html(load_suite_results(tmp_path))
    assert "at a measured save rate of 18%" in tiles and "assumed save rate" not in tiles
