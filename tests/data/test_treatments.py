"""The treatments table: every error is one clear Problem, one-arm and control-less campaigns are warnings,
a canonical directory and a mapping both read it, and the Hillstrom adapter gives the published experiment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_io import canonical_tables, write_source

from cxresearch.data.load import load_source
from cxresearch.data.load import write_source as write_canonical
from cxresearch.data.mapping.apply import load_mapping
from cxresearch.data.mapping.spec import parse_mapping_text
from cxresearch.data.validation.problems import DataValidationError
from cxresearch.data.validation.treatments import check_treatments, treatment_warnings

HILLSTROM = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "hillstrom"

#: C002 left on 2023-09-30 and C004 on 2023-08-15 (see test_io.canonical_tables).
TREATMENTS = pd.DataFrame({
    "customer_id": ["C001", "C002", "C003", "C004", "C005"],
    "campaign": ["winback"] * 5,
    "assigned_at": ["2023-06-01"] * 5,
    "arm": ["treatment", "control", "treatment", "control", "treatment"],
    "cost": [5.0, None, 5.0, None, 5.0],
    "outcome_visit": [1, 0, 1, 1, 0],
    "covariate_tier": ["gold", "silver", "gold", "bronze", "silver"],
    "covariate_score": ["3", "4", "5", "1", "2"],
})


def _problems(df: pd.DataFrame, until: str | None = "2023-12-31") -> list[str]:
    customers = canonical_tables()["customers"]
    typed, problems = check_treatments(df, customers, None if until is None else pd.Timestamp(until))
    assert (typed is None) == bool(problems)
    return [str(p) for p in problems]


def test_valid_table_is_typed() -> None:
    typed, problems = check_treatments(TREATMENTS, canonical_tables()["customers"], pd.Timestamp("2023-12-31"))
    assert problems == []
    assert typed["assigned_at"].dtype == "datetime64[ns]" and typed["outcome_visit"].tolist() == [1, 0, 1, 1, 0]
    # covariates that are all numbers become numbers, labels stay text
    assert typed["covariate_score"].tolist() == [3.0, 4.0, 5.0, 1.0, 2.0]
    assert typed["covariate_tier"].tolist() == ["gold", "silver", "gold", "bronze", "silver"]


def test_unknown_customer_assignment_after_leaving_and_after_observation() -> None:
    df = TREATMENTS.assign(
        customer_id=["C001", "C002", "X9", "C004", "C005"],
        # C002 left 2023-09-30: the same day is still within the lifetime, C004 left 2023-08-15
        assigned_at=["2023-06-01", "2023-09-30", "2023-06-01", "2023-08-16", "2024-01-02"],
    )
    assert _problems(df) == [
        "treatments.customer_id: 1 row: customer_id not in customers (e.g. X9)",
        "treatments.assigned_at: 1 row: assignment after the customer's end_date (the customer had left) (e.g. C004)",
        "treatments.assigned_at: 1 row: assignment after the end of observation (2023-12-31) (e.g. C005)",
    ]


def test_duplicate_assignment_negative_cost_bad_outcome_and_missing_values() -> None:
    df = TREATMENTS.assign(customer_id=["C001", "C001", "C003", "C004", "C005"], cost=[5.0, -1.0, 5.0, None, 5.0],
                           outcome_visit=[1, 0, "yes", 1, 0], arm=["treatment", "control", None, "control", "x"])
    assert _problems(df, until=None) == [
        "treatments.outcome_visit: 1 row: not a number: 'yes' (e.g. C003)",
        "treatments.arm: 1 row: missing value in required column (e.g. C003)",
        "treatments.cost: 1 row: negative or non-finite cost (e.g. C001)",
        "treatments.customer_id: 2 rows: customer assigned more than once in the same campaign (e.g. C001)",
    ]
    # the same customer in two campaigns is fine
    assert _problems(TREATMENTS.assign(campaign=["a", "a", "b", "b", "b"]), until=None) == []


def test_missing_required_column() -> None:
    assert _problems(TREATMENTS.drop(columns="arm").rename(columns={"campaign": "Campaign"})) == [
        "treatments.campaign: missing required column (found 'Campaign'; column names must match exactly)",
        "treatments.arm: missing required column",
    ]


def test_one_arm_and_no_control_are_warnings() -> None:
    df = TREATMENTS.assign(campaign=["a", "a", "b", "b", "b"], arm=["treatment", "control", "offer", "offer", "offer"])
    assert [str(w) for w in treatment_warnings(df)] == [
        ("treatments.arm: 3 rows: campaign 'b' has one arm only (offer): no comparison is possible, so its effect "
        "cannot be estimated (e.g. 'offer')")]
    df = TREATMENTS.assign(arm=["a", "b", "a", "b", "a"])
    assert [w.message for w in treatment_warnings(df)] == [
        ("campaign 'winback' has no arm named 'control': effects need a holdout to compare with; rename the holdout "
        "arm to control")]
    assert treatment_warnings(TREATMENTS) == []


def test_directory_reads_treatments_and_round_trips(tmp_path: Path) -> None:
    one_arm = TREATMENTS.assign(campaign=["a", "a", "b", "b", "b"], arm=["treatment", "control", "x", "x", "x"])
    source = write_source(tmp_path / "src", tables={**canonical_tables(), "treatments": one_arm})
    data = load_source(source)
    assert data.has("treatments") and len(data.treatments) == 5
    assert data.metadata["notes"] == [str(w) for w in treatment_warnings(data.treatments)]
    again = load_source(write_canonical(data, tmp_path / "copy"))
    pd.testing.assert_frame_equal(again.treatments, data.treatments)
    assert again.metadata["notes"] == data.metadata["notes"]
    assert not load_source(write_source(tmp_path / "none")).has("treatments")


def test_directory_reports_bad_treatments(tmp_path: Path) -> None:
    bad = TREATMENTS.assign(customer_id=["C001", "C002", "C003", "C004", "NOPE"])
    source = write_source(tmp_path / "src", tables={**canonical_tables(), "treatments": bad})
    with pytest.raises(DataValidationError) as info:
        load_source(source)
    assert [str(p) for p in info.value.problems] == [
        "treatments.customer_id: 1 row: customer_id not in customers (e.g. NOPE)"]


MAPPING = """
name: mapped experiment
shape: events
as_of: 2023-12-31
sources:
  crm: customers.csv
  tests: kampagne.csv
customers:
  from: crm
  columns: {customer_id: customer_id, signup_date: signup_date, end_date: end_date, monthly_margin: monthly_margin}
treatments:
  from: tests
  columns:
    customer_id: Kunde
    campaign: {value: winback}
    assigned_at: {column: Datum, format: "%d.%m.%Y"}
    arm: {column: Gruppe, values: {T: treatment, K: control}}
    cost: Kosten
    outcome_visit: Besuch
    covariate_tier: Stufe
"""

KAMPAGNE = """Kunde,Datum,Gruppe,Kosten,Besuch,Stufe
C001,01.06.2023,T,5,1,gold
C002,01.06.2023,K,,0,silver
C003,02.06.2023,T,5,1,gold
"""


def test_mapping_fills_the_treatments_table(tmp_path: Path) -> None:
    canonical_tables()["customers"].to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "kampagne.csv").write_text(KAMPAGNE)
    data = load_mapping(parse_mapping_text(MAPPING, tmp_path))
    t = data.treatments
    assert t["customer_id"].tolist() == ["C001", "C002", "C003"]
    assert t["arm"].tolist() == ["treatment", "control", "treatment"]
    assert t["assigned_at"].tolist() == [pd.Timestamp("2023-06-01")] * 2 + [pd.Timestamp("2023-06-02")]
    assert t["cost"].tolist()[::2] == [5.0, 5.0] and pd.isna(t["cost"].iloc[1])
    assert t["outcome_visit"].tolist() == [1.0, 0.0, 1.0] and t["covariate_tier"].tolist() == ["gold", "silver", "gold"]
    assert data.metadata["notes"] == []


def test_mapping_errors_name_the_key(tmp_path: Path) -> None:
    text = MAPPING.replace("    cost: Kosten\n", "    costs: Kosten\n    outcome_: Besuch\n").replace(
        "    arm: {column: Gruppe, values: {T: treatment, K: control}}\n", "")
    with pytest.raises(DataValidationError) as info:
        parse_mapping_text(text, tmp_path)
    assert [str(p) for p in info.value.problems] == [
        "treatments.columns.costs: not a canonical column; did you mean cost?",
        "treatments.columns.outcome_: not a canonical column; did you mean outcome_visit?",
        "treatments.columns: missing required column: arm",
    ]
    # an unknown customer is reported with the mapping key it came from
    canonical_tables()["customers"].to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "kampagne.csv").write_text(KAMPAGNE.replace("C003", "C999"))
    with pytest.raises(DataValidationError) as info:
        load_mapping(parse_mapping_text(MAPPING, tmp_path))
    assert [str(p) for p in info.value.problems] == [
        ("treatments.customer_id: 1 row: customer_id not in customers [mapping treatments.columns.customer_id: "
        "column 'Kunde'] (e.g. C999)")]


@pytest.mark.shared
@pytest.mark.skipif(not (HILLSTROM / "hillstrom.csv").is_file(), reason=f"Hillstrom data not found at {HILLSTROM}")
def test_hillstrom_adapter_counts() -> None:
    raw = pd.read_csv(HILLSTROM / "hillstrom.csv")
    data = load_source(f"hillstrom:{HILLSTROM}")
    t = data.treatments
    assert len(data.customers) == len(t) == 64000 and set(t["campaign"]) == {"hillstrom_email"}
    assert t["arm"].value_counts().to_dict() == {"womens_email": 21387, "mens_email": 21307, "control": 21306}
    assert data.capabilities == {"timestamps", "treatments"}
    assert t["outcome_visit"].sum() == raw["visit"].sum() == 9394
    assert t["outcome_conversion"].sum() == raw["conversion"].sum() == 578
    assert t["outcome_spend"].sum() == pytest.approx(raw["spend"].sum())
    assert t["customer_id"].tolist()[:3] == ["1", "2", "3"] and (t["assigned_at"] == "2008-03-01").all()
    assert data.customers["monthly_margin"].iloc[0] == pytest.approx(raw["history"].iloc[0] / 12)
    # placeholder sign-up: newcomers at their last purchase, everyone else twelve months before the campaign
    newbie = raw["newbie"] == 1
    expected = pd.Timestamp("2008-03-01") - raw["recency"].map(lambda m: pd.DateOffset(months=m))
    assert (data.customers["signup_date"][newbie] == expected[newbie]).all()
    assert (data.customers["signup_date"][~newbie] == pd.Timestamp("2007-03-01")).all()
    assert set(t["covariate_zip_code"]) == {"urban", "suburban", "rural"}
