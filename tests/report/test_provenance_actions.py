"""Provenance in every results file, windows on every churn rate, one estimate per CX driver and "What to do"."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from cxresearch.data.load import load_source
from cxresearch.data.simulate import simulate, write_world
from cxresearch.features.shared import write_shared
from cxresearch.report import nbtools
from cxresearch.report.cx_drivers import actions_html, driver_effects, what_to_do
from cxresearch.report.findings import headlines, provenance_line
from cxresearch.report.results import Provenance, Results, read_results
from cxresearch.report.suite_results import load_suite_results
from cxresearch.stats.estimate import Estimate

CLAIMS, DRIVERS = "04_loyalty_metrics", "02_churn_drivers"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("elsewhere") / "small_world"
    write_world(simulate(n_customers=600, months=14, seed=5), directory)
    return directory


def test_results_record_the_real_source_not_demo(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(world.parent)  # a relative path, as a researcher types it in JupyterLab
    ctx = nbtools.start("01_data_audit", "small_world", str(tmp_path), {"seed": 0})
    written = read_results(ctx.finish())
    expected = load_source(world)
    assert written.parameters == {"data_source": "small_world", "seed": 0}
    assert written.provenance.source == "small_world"
    assert written.provenance.resolved == str(world.resolve())
    assert written.provenance.fingerprint == expected.fingerprint == written.data_fingerprint
    assert (written.provenance.shape, written.provenance.observed_until) == (
        "events", expected.observed_until.date().isoformat())


def test_a_suite_run_records_the_users_source_not_the_shared_copy(
    world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_source(world)
    shared = write_shared(data, str(world), tmp_path / "run" / "shared").directory
    ctx = nbtools.start("01_data_audit", str(world), str(tmp_path), {}, shared_tables=str(shared))
    written = read_results(ctx.finish())
    assert (written.provenance.source, written.provenance.resolved) == (str(world), str(world))
    assert written.provenance.fingerprint == data.fingerprint
    assert str(shared) not in json.dumps(written.to_dict())


def test_files_written_before_provenance_still_read(tmp_path: Path) -> None:
    raw = Results("01_data_audit", {"data_source": "demo"}, "abc").to_dict()
    raw.pop("provenance")
    (tmp_path / "01_data_audit.json").write_text(json.dumps(raw))
    old = read_results(tmp_path / "01_data_audit.json")
    assert old.provenance is None and old.parameters == {"data_source": "demo"}
    assert provenance_line(load_suite_results(tmp_path)) == ""


def _write_02(directory: Path, as_of: str = "", shape: str = "events", horizon: float = 3,
              observed_until: str = "2026-01-01", odds: pd.DataFrame | None = None, findings: tuple = ()) -> None:
    """A hand-built churn-drivers results file with the churn rate, its windows and provenance."""
    res = Results(DRIVERS, {"as_of": as_of, "horizon_months": 3}, "f1",
                  estimates={"churn_rate_window": Estimate(5.9, "%", "churn", 5.4, 6.3, 11323),
                             "churn_n": Estimate(11323.0, "count", "n")},
                  extra={"data_shape": shape, "windows": {"window_months": 3, "horizon_months": horizon, "note": ""}},
                  findings=list(findings))
    res.provenance = Provenance("src", "/abs/src", "f1", "world", shape, observed_until)
    if odds is not None:
        res.add_table("odds_ratios", odds)
    res.write(directory)


@pytest.mark.parametrize(("as_of", "shape", "horizon", "until", "label"), [
    # Default snapshot: the latest with a fully observed horizon, 3 months before the end of observation.
    ("", "events", 3, "2026-01-01", "Churned within 3 months of 2025-10-01"),
    ("", "events", 1, "2025-03-15", "Churned within 1 month of 2025-02-15"),
    ("2025-06-01", "events", 3, "2026-01-01", "Churned within 3 months of 2025-06-01"),
    # Flat data: the churn flag's period up to the one date the data describes.
    ("", "flat", 24, "2024-01-31", "Churned in the 24 months up to 2024-01-31"),
])
def test_every_churn_rate_states_its_window(tmp_path: Path, as_of: str, shape: str, horizon: float, until: str,
                                            label: str) -> None:
    _write_02(tmp_path, as_of, shape, horizon, until)
    assert load_suite_results(tmp_path).label(DRIVERS, "churn_rate_window") == label


def _evidence(rows: list[tuple[str, float, float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"id": i, "claim": f"claim {i}", "estimate": e, "ci_low": lo, "ci_high": hi,
                          "unit": "odds ratio per unit", "verdict": v} for i, e, lo, hi, v in rows])


def _write_04(directory: Path, evidence: pd.DataFrame) -> None:
    res = Results(CLAIMS, {}, "f1", extra={"claims_design": "8 monthly snapshots from 2025-05-01 to 2025-12-01: "
                                                           "89,577 customer-months, 1,910 churns"})
    res.add_table("evidence", evidence)
    res.write(directory)


def _z(odds: float, low: float, high: float) -> float:
    return abs(math.log(odds)) / ((math.log(high) - math.log(low)) / (2 * 1.959964))


def test_actions_come_from_supported_claims_ranked_by_strength_of_evidence(tmp_path: Path) -> None:
    window_odds = pd.DataFrame({"term": ["ces_mean_90d"], "label": ["CES"], "odds_ratio": [1.02], "or_ci_low": [0.91],
                                "or_ci_high": [1.16], "p_value": [0.70]})
    _write_02(tmp_path, odds=window_odds, findings=("CES: more churn, odds ratio 1.02.", "A campaign is worth 0.14."))
    _write_04(tmp_path, _evidence([
        ("3a", 1.10, 1.03, 1.17, "supported"),      # z = 3.0
        ("4a", 0.78, 0.72, 0.85, "supported"),      # z = 6.2
        ("4b", 1.64, 1.53, 1.77, "supported"),      # z = 13.5
        ("5", 1.45, 1.19, 1.76, "supported"),       # z = 3.7
        ("4c", 1.07, 1.00, 1.15, "inconclusive"),   # no action, and not supported
        ("1a", 0.97, 0.90, 1.05, "inconclusive"),
    ]))
    suite = load_suite_results(tmp_path)
    effects = driver_effects(suite)
    assert effects.model == "pooled"
    # One estimate per driver: the pooled one, never the window model's 1.02 for effort.
    assert {e.driver.key: e.odds_ratio for e in effects.effects} == {
        "ces": 1.10, "nps": 0.97, "unresolved": 1.64, "resolved": 1.07, "proactive": 0.78, "inconsistency": 1.45}
    assert "11,323 customers" in effects.other and "within 3 months of 2025-10-01" in effects.other
    actions = what_to_do(suite)
    assert [a.action for a in actions] == ["Resolve more contacts at the first contact", "Reach out proactively",
                                           "Remove inconsistencies between channels"]
    assert [a.z for a in actions] == pytest.approx([_z(1.64, 1.53, 1.77), _z(0.78, 0.72, 0.85),
                                                    _z(1.45, 1.19, 1.76)])
    assert actions[0].evidence == ("customers with more unresolved contacts churn more: 1.64 times the odds per "
                                   "contact not resolved at first contact in 90 days (95% CI 1.53 to 1.77)")
    # The window model's odds-ratio finding leaves the headlines; its other findings stay.
    lines = headlines(suite)
    assert "Churn: A campaign is worth 0.14." in lines and not any("odds ratio 1.02" in line for line in lines)


def test_no_supported_driver_means_a_plain_sentence(tmp_path: Path) -> None:
    _write_02(tmp_path)
    _write_04(tmp_path, _evidence([("3a", 1.02, 0.95, 1.10, "inconclusive"), ("4a", 1.10, 1.01, 1.20,
                                                                              "not supported")]))
    suite = load_suite_results(tmp_path)
    assert what_to_do(suite) == []
    assert "The evidence in this run supports no action" in actions_html(suite)


def test_window_model_is_used_without_pooled_claims_and_holm_adjusted(tmp_path: Path) -> None:
    # Holm over the three drivers: p 0.001, 0.03, 0.04 -> 0.003, 0.06, 0.06: only the first is found.
    odds = pd.DataFrame({"term": ["unresolved_contacts", "reactive_contacts", "csat_last", "tenure_months"],
                         "label": ["Unresolved", "Reactive", "CSAT", "Tenure"],
                         "odds_ratio": [1.5, 1.2, 0.8, 0.5], "or_ci_low": [1.2, 1.02, 0.65, 0.4],
                         "or_ci_high": [1.9, 1.41, 0.98, 0.6], "p_value": [0.001, 0.03, 0.04, 1e-9]})
    _write_02(tmp_path, shape="flat", horizon=1, observed_until="2024-01-31", odds=odds)
    _write_04(tmp_path, _evidence([("3a", math.nan, math.nan, math.nan, "cannot test")]))
    suite = load_suite_results(tmp_path)
    effects = driver_effects(suite)
    assert effects.model == "window" and effects.other == ""
    assert [(e.driver.key, e.supported) for e in effects.effects] == [
        ("csat", False), ("reactive", False), ("unresolved", True)]
    assert "Odds ratios of churn in the 1 month up to 2024-01-31" in effects.measures
    assert [a.action for a in what_to_do(suite)] == ["Resolve more contacts at the first contact"]


def test_provenance_line_names_the_source_and_flags_different_data(tmp_path: Path) -> None:
    _write_02(tmp_path)
    other = Results(CLAIMS, {}, "f2")
    other.provenance = Provenance("src", "/abs/src", "f2", "world", "events", "2026-01-01")
    other.write(tmp_path)
    line = provenance_line(load_suite_results(tmp_path))
    assert line.startswith("Data: /abs/src (world), fingerprint f1, observed until 2026-01-01.")
    assert "Satisfaction, loyalty and effort read different data" in line


def test_an_assumed_campaign_is_named_with_its_break_even_not_ranked(tmp_path: Path) -> None:
    res = Results(DRIVERS, {}, "f1", estimates={
        "empc_logit": Estimate(0.14, "currency per customer", "EMPC"), "empc_logit_fraction": Estimate(3.8, "%", "s"),
        "empc_boosting": Estimate(0.11, "currency per customer", "EMPC"),
        "empc_boosting_fraction": Estimate(4.3, "%", "s")})
    res.write(tmp_path)
    Results("05_retention_economics", {}, "f1", extra={"currency": "EUR"},
            estimates={"break_even_save_rate": Estimate(21.8, "%", "b")}).write(tmp_path)
    suite = load_suite_results(tmp_path)
    assert what_to_do(suite) == []
    page = actions_html(suite)
    assert "supports no action" in page
    assert ("targeting the riskiest 3.8% of customers by the churn model is worth an expected 0.14 EUR per customer"
            in page and "only if more than 22% of contacted at-risk customers stay" in page)
