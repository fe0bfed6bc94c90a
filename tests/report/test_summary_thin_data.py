"""The executive summary on thin data: bounds, missing figures and notebooks, untestable claims, leakage, currency.

Each test writes small hand-made results files (what notebooks 01-05 record on such data) and checks the exact
text the page shows: a median not reached is a lower bound in words, a figure not estimable has no tile, money is
in the data's currency, what was skipped fits in five lines, and nothing reads nan, None or n/a.
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pandas as pd
import pytest

from cxresearch.report.figures import plot_driver_effects, plot_lifetime_curves, plot_value_by_segment
from cxresearch.report.findings import evidence_html, headlines, missing_sections, not_estimated
from cxresearch.report.key_figures import changes_html, compare_runs, kpi_tiles_html
from cxresearch.report.results import Results
from cxresearch.report.retention_text import retention_vs_acquisition_text
from cxresearch.report.suite_results import load_suite_results
from cxresearch.stats.estimate import Estimate

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|n/a|Traceback|nps score|clv per customer|_per_customer")
ASSUMPTION = "The churn flag covers the 12 months before the export (churn_period_months = 12)."
EXTRA = {"currency": "USD", "data_shape": "flat", "assumptions": [ASSUMPTION]}
CLAIM_NEEDS = ["effort scores (CES)", "contact records", "referrals"]


def _results(notebook: str, estimates: dict[str, Estimate] | None = None, findings: list[str] | None = None,
             extra: dict | None = None) -> Results:
    """A results file as notebook `notebook` writes it on flat US-dollar data."""
    return Results(notebook=notebook, parameters={"horizon_months": 3}, data_fingerprint="x",
                   estimates=estimates or {}, findings=findings or [], extra={**EXTRA, **(extra or {})})


def _thin_run(directory: Path, leakage: bool = True) -> Path:
    """Results of a flat, thin run: 01, 02 (leaking column), 03 (median not reached), 05 (CLV not estimable).

    Notebook 04 wrote nothing. 13 skipped analyses name six missing inputs, one names none.
    """
    skips = {
        "01_data_audit": [("monthly churn", "event dates")],
        "02_churn_drivers": [("contact x resolution interaction", "contact resolution"),
                             ("partial dependence", "effort scores (CES)"),
                             ("known-truth check", "")],
        "03_customer_lifetime": [("lifetime by nps_group", "NPS scores"),
                                 ("lifetime by effort_band", "effort scores (CES)"),
                                 ("landmark Cox model", "contact records"),
                                 ("time-varying Cox model", "contact records"),
                                 ("proportional-hazards check", "contact records"), ("AFT extrapolation", "")],
        "05_retention_economics": [("BG/NBD and Gamma-Gamma", "purchase records"),
                                   ("retention vs acquisition", "acquisition costs"),
                                   ("Monte Carlo sensitivity", "acquisition costs"),
                                   ("campaign", "acquisition costs")],
    }
    runs = {
        "01_data_audit": _results("01_data_audit", findings=["1,394 customers, one row each (no event dates)."]),
        "02_churn_drivers": _results(
            "02_churn_drivers",
            estimates={"churn_rate_window": Estimate(98.2, "%", "Churned within the prediction window", 96.0, 100.4)},
            findings=["Satisfaction Score separates churners from stayers with an AUC of 0.98: it leaks.",
                      "Contract type goes with churn: two-year contracts churn least."],
            extra={"leaking_columns": [{"column": "Satisfaction Score", "why": "recorded after", "auc": 0.98}]}
            if leakage else {},
        ),
        "03_customer_lifetime": _results(
            "03_customer_lifetime",
            estimates={"median_lifetime_months": Estimate(36.0, "months", "Median customer lifetime (all)",
                                                          bound="lower", reason="fewer than half have left")},
            findings=["Half of new customers stay more than 36.0 months (fewer than half have left)."],
        ),
        "05_retention_economics": _results(
            "05_retention_economics",
            # The notebook's parameter default labelled the amount EUR; the data says USD.
            estimates={"clv_per_customer": Estimate.not_estimable("EUR", "CLV", "the sBG fit did not converge"),
                       "residual_clv_per_customer": Estimate(1002.98, "EUR", "Residual CLV", 941.1, 1067.4)},
            findings=["A current customer is still worth 1,003 USD over the next 60 months."],
        ),
    }
    runs["05_retention_economics"].add_table("clv_by_contract", pd.DataFrame(
        {"group": ["month_to_month", "two_year"], "clv": [212.0, None], "ci_low": [200.0, None],
         "ci_high": [225.0, None], "n": [3875, 1695]}))
    # notebooks 06-09 ran and found nothing to say (their skips are left out to keep the counts above)
    runs.update({name: _results(name) for name in ("06_churn_reasons", "07_lifetime_models", "08_value_at_stake",
                                                   "09_experiments")})
    for name, res in runs.items():
        for analysis, needs in skips.get(name, []):
            res.skip(analysis, f"the data has no {needs or 'support for it'}", needs=needs)
        res.write(directory)
    return directory


def _untestable_claims(directory: Path) -> None:
    """Notebook 04 on the same data: 2 of 15 claims tested, 13 untestable for want of three inputs."""
    rows = [{"id": "2", "claim": "Satisfaction is not loyalty", "estimate": 12.5, "ci_low": -3.0, "ci_high": 104.0,
             "unit": "%", "verdict": "inconclusive", "note": None},
            {"id": "6", "claim": "Promoters recommend", "estimate": 1.18, "ci_low": 1.10, "ci_high": 1.27,
             "unit": "rate ratio", "verdict": "supported", "note": float("nan")}]
    rows += [{"id": f"u{i}", "claim": f"untestable claim {i}", "estimate": None, "ci_low": None, "ci_high": None,
              "unit": "", "verdict": "cannot test", "note": "no data"} for i in range(13)]
    res = _results("04_loyalty_metrics", extra={"untestable_claims": {"needs": CLAIM_NEEDS,
                                                                      "claims": [f"u{i}" for i in range(13)]}})
    res.add_table("evidence", pd.DataFrame(rows))
    for i in range(13):
        res.skip(f"claim u{i}: untestable claim {i}", "no data", needs=CLAIM_NEEDS[i % 3])
    res.skip("NPS metric", "no NPS responses", needs="NPS scores")
    res.write(directory)


def _visible(page: str) -> str:
    """The text a reader sees: tags, styles and scripts removed, entities decoded."""
    page = re.sub(r"<style.*?</style>|<script.*?</script>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_a_median_not_reached_is_a_lower_bound_with_the_assumption_next_to_it(tmp_path: Path) -> None:
    suite = load_suite_results(_thin_run(tmp_path))
    tiles = _visible(kpi_tiles_html(suite))
    assert "more than 36.0 months" in tiles and "fewer than half have left" in tiles
    assert f"Assumption: {ASSUMPTION}" in tiles
    (lifetime,) = [line for line in headlines(suite) if line.startswith("How long customers stay")]
    assert lifetime == ("How long customers stay: Half of new customers stay more than 36.0 months (fewer than "
                        f"half have left). (Assumption: {ASSUMPTION})")


def test_tiles_show_only_estimable_figures_with_glossary_labels_and_the_datas_currency(tmp_path: Path) -> None:
    suite = load_suite_results(_thin_run(tmp_path))
    tiles = _visible(kpi_tiles_html(suite))
    # churn, lifetime, and (CLV of a new customer not estimable) the remaining value of a current customer
    assert kpi_tiles_html(suite).count("font-size:26px") == 3
    assert "Churned in the 3 months the data's churn flag covers" in tiles and "Remaining value of a current customer" in tiles
    assert "1,003 USD" in tiles and "EUR" not in tiles and "Lifetime value of a new customer" not in tiles
    # 96.0 to 100.4 arrives out of scale: a percentage is shown within [0, 100]
    assert "95% CI 96.0 to 100.0" in tiles
    assert not FORBIDDEN.search(tiles)
    assert "1,003 EUR" in _visible(kpi_tiles_html(suite, currency="EUR"))  # an explicit currency wins


def test_money_without_a_stated_currency_is_in_currency_units(tmp_path: Path) -> None:
    res = Results(notebook="05_retention_economics", parameters={}, data_fingerprint="x",
                  estimates={"clv_per_customer": Estimate(649.0, "", "CLV", 624.0, 672.0)})
    res.write(tmp_path)
    assert "649 currency units" in _visible(kpi_tiles_html(load_suite_results(tmp_path)))


def test_leakage_leads_the_findings_once(tmp_path: Path) -> None:
    lines = headlines(load_suite_results(_thin_run(tmp_path)))
    assert lines[0] == ('The column "Satisfaction Score" is recorded after customers decide to leave, so it cannot '
                        "predict churn; it was left out of the churn analyses.")
    assert sum("Satisfaction Score" in line for line in lines) == 1
    assert "Churn: Contract type goes with churn: two-year contracts churn least." in lines
    without = headlines(load_suite_results(_thin_run(tmp_path / "clean", leakage=False)))
    assert without[0] == "The data: 1,394 customers, one row each (no event dates)."


def test_a_finding_with_a_lost_number_stays_out_of_the_brief(tmp_path: Path) -> None:
    findings = ["Half of new customers are gone after nan months.", "None of the segments differ.",
                "Customers stay 24.0 months on average."]
    Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x", findings=findings).write(tmp_path)
    lines = [line for line in headlines(load_suite_results(tmp_path)) if line.startswith("How long")]
    assert lines == ["How long customers stay: None of the segments differ.",
                     "How long customers stay: Customers stay 24.0 months on average."]


def test_a_missing_notebook_is_named_by_its_title_and_leaves_no_tile(tmp_path: Path) -> None:
    suite = load_suite_results(_thin_run(tmp_path))
    assert missing_sections(suite) == "Satisfaction, loyalty and effort"
    no_results = "Satisfaction, loyalty and effort: no results (the analysis did not complete in this run)."
    assert no_results in headlines(suite)
    assert "Net Promoter Score" not in kpi_tiles_html(suite)
    assert evidence_html(suite) == "<p>The claims could not be tested in this run.</p>"
    assert retention_vs_acquisition_text(suite) == (
        "Retention vs acquisition could not be assessed in this run: it needs acquisition costs.")


def test_what_was_skipped_fits_in_five_lines_grouped_by_missing_input(tmp_path: Path) -> None:
    directory = _thin_run(tmp_path)
    _untestable_claims(directory)
    gaps = not_estimated(load_suite_results(directory))
    # Non-claim skips: contact records 3, acquisition costs 3, effort 2, NPS 2, one each for event dates, contact
    # resolution and purchase records, one without `needs`; the known-truth check is left out. 13 claims: 1 line.
    assert gaps == [
        "Not possible without contact records: landmark Cox model, time-varying Cox model and proportional-hazards "
        "check.",
        "Not possible without acquisition costs: retention vs acquisition, Monte Carlo sensitivity and campaign.",
        "Not possible without effort scores (CES): partial dependence and lifetime by effort band.",
        "6 more analyses could not run for lack of NPS scores, event dates, contact resolution or purchase records, "
        "and for other reasons; the research notebooks list them.",
        "13 of the 15 CX claims cannot be tested on this data; testing them would need effort scores (CES), contact "
        "records and referrals.",
    ]


def test_few_gaps_are_listed_each_with_the_input_they_need(tmp_path: Path) -> None:
    res = Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x")
    res.skip("landmark Cox model", "the data has no contacts", needs="contact records")
    res.skip("AFT extrapolation", "the fit did not converge")
    res.write(tmp_path)
    assert not_estimated(load_suite_results(tmp_path)) == [
        "Not possible without contact records: landmark Cox model.",
        "Not possible for other reasons, given in the research notebooks: AFT extrapolation.",
    ]


def test_the_evidence_table_shows_only_testable_claims_within_their_scale(tmp_path: Path) -> None:
    directory = _thin_run(tmp_path)
    _untestable_claims(directory)
    page = evidence_html(load_suite_results(directory))
    text = _visible(page)
    assert page.count("<tr>") == 3  # header and the two tested claims
    assert "12.50 (0.00 to 100.00) %" in text and "1.18 (1.10 to 1.27) rate ratio" in text
    assert "untestable claim" not in text and "The other 13 claims cannot be tested on this data" in text
    assert not FORBIDDEN.search(text)


def test_compare_runs_does_not_compare_bounds_or_missing_figures(tmp_path: Path) -> None:
    before = tmp_path / "before"
    Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x",
            estimates={"median_lifetime_months": Estimate(30.0, "months", "m", 27.0, 33.0)}).write(before)
    Results(notebook="05_retention_economics", parameters={}, data_fingerprint="x", extra={"currency": "USD"},
            estimates={"clv_per_customer": Estimate(640.0, "EUR", "c", 600.0, 680.0)}).write(before)
    now = _thin_run(tmp_path / "now")
    changes = compare_runs(load_suite_results(now), load_suite_results(before)).set_index("figure")
    assert changes.loc["Median customer lifetime", "current_text"] == "more than 36.0 months"
    assert changes.loc["Lifetime value of a new customer", "previous_text"] == "640.0 USD"
    assert changes.loc["Lifetime value of a new customer", "current_text"] == "not estimable"
    assert changes["change"].isna().all()
    text = _visible(changes_html(changes.reset_index()))
    assert text.count("not compared") == 2 and "more than 36.0 months" in text and not FORBIDDEN.search(text)


def test_plots_with_nothing_to_draw_are_none(tmp_path: Path) -> None:
    km = pd.DataFrame({"group": ["a", "a"], "time": [0.0, 1.0], "survival": [None, None], "ci_low": [None, None],
                       "ci_high": [None, None]})
    medians = pd.DataFrame({"group": ["a"], "n": [50], "median": [None], "reached": [False]})
    clv = pd.DataFrame({"group": ["a"], "clv": [None], "ci_low": [None], "ci_high": [None], "n": [50]})
    odds = pd.DataFrame({"term": ["nps_last"], "label": ["NPS"], "odds_ratio": [None], "or_ci_low": [None],
                         "or_ci_high": [None]})
    res = Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x")
    res.add_table("km_by_contract", km)
    res.add_table("medians_by_contract", medians)
    res.write(tmp_path)
    res = Results(notebook="05_retention_economics", parameters={}, data_fingerprint="x")
    res.add_table("clv_by_contract", clv)
    res.write(tmp_path)
    res = Results(notebook="02_churn_drivers", parameters={}, data_fingerprint="x")
    res.add_table("odds_ratios", odds)
    res.write(tmp_path)
    suite = load_suite_results(tmp_path)
    assert plot_lifetime_curves(suite) is None and plot_value_by_segment(suite) is None
    assert plot_driver_effects(suite) is None


def test_plots_draw_rows_with_a_number_and_clip_their_intervals(tmp_path: Path) -> None:
    clv = pd.DataFrame({"group": ["a", "b"], "clv": [500.0, None], "ci_low": [520.0, None], "ci_high": [None, None],
                        "n": [50, 50]})
    res = Results(notebook="05_retention_economics", parameters={}, data_fingerprint="x", extra={"currency": "USD"})
    res.add_table("clv_by_contract", clv)
    res.write(tmp_path)
    ax = plot_value_by_segment(load_suite_results(tmp_path))
    assert ax.figure.axes == [ax]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a"]
    assert ax.get_ylabel() == "lifetime value per new customer (USD)"
    # an interval end on the wrong side of the value collapses onto it: no negative error bar
    (bar,) = ax.patches
    assert bar.get_height() == pytest.approx(500.0)


@pytest.mark.slow
def test_the_executive_notebook_on_thin_data_reads_cleanly(tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    from cxresearch.report.html import render_html

    directory = _thin_run(tmp_path / "results")
    _untestable_claims(directory)
    (directory / "04_loyalty_metrics.json").unlink()  # no 04 results at all, as when the notebook failed
    previous = tmp_path / "previous"
    Results(notebook="03_customer_lifetime", parameters={}, data_fingerprint="x",
            estimates={"median_lifetime_months": Estimate(30.0, "months", "m", 27.0, 33.0)}).write(previous)
    output = tmp_path / "00_executive_summary.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "00_executive_summary.ipynb"), str(output),
                               parameters={"results_dir": str(directory), "previous_results_dir": str(previous)},
                               kernel_name="python3", progress_bar=False, cwd=str(ROOT / "notebooks"))
    page = render_html(output, tmp_path / "exec.html", executive=True).read_text()
    text = _visible(page)
    assert not FORBIDDEN.search(text), FORBIDDEN.search(text)
    assert page.count("<img") == 1  # the value of a new customer by contract; nothing else has data to draw
    # next to the two lifetime/value tiles, their two headlines and the picture
    assert text.count(ASSUMPTION) == 5
    for expected in ("more than 36.0 months", "1,003 USD", ASSUMPTION, "Satisfaction Score",
                     "No results in this run from: Satisfaction, loyalty and effort.",
                     "Median customer lifetime 30.0 months more than 36.0 months not compared"):
        assert expected in text, expected
    assert "EUR" not in text


def test_the_churn_tile_names_the_horizon_the_notebook_fitted_to_the_data(tmp_path: Path) -> None:
    res = Results(notebook="02_churn_drivers", parameters={"horizon_months": 3, "window_months": 3},
                  data_fingerprint="x", extra={"windows": {"window_months": 3, "horizon_months": 1}},
                  estimates={"churn_rate_window": Estimate(26.5, "%", "churn", 25.5, 27.6)})
    res.write(tmp_path)
    assert load_suite_results(tmp_path).label("02_churn_drivers", "churn_rate_window") == "Churned within 1 month"


def test_the_claims_table_states_its_rule_and_shows_the_adjusted_p(tmp_path: Path) -> None:
    evidence = pd.DataFrame({"claim": ["Effort kills loyalty", "Proactive helps"], "estimate": [1.10, 0.78],
                             "ci_low": [1.03, 0.72], "ci_high": [1.17, 0.85], "unit": ["odds ratio"] * 2,
                             "verdict": ["supported", "supported"], "note": ["", ""],
                             "p_adjusted": [0.0107, 0.00001]})
    res = Results(notebook="04_loyalty_metrics", parameters={}, data_fingerprint="x",
                  extra={"claims_rule": "The 2 tested claims are judged together: Holm's adjustment."})
    res.add_table("evidence", evidence)
    res.write(tmp_path)
    page = evidence_html(load_suite_results(tmp_path))
    assert page.startswith("<p>The 2 tested claims are judged together: Holm&#x27;s adjustment.</p>")
    assert "<th" in page and "Adjusted p" in page and "p = 0.011" in page and "p &lt; 0.001" in page
