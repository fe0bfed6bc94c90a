"""Mapping files: both shapes map onto the canonical model exactly, and every mistake is one clear line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
from test_io import canonical_tables, write_source

from cxresearch.features import lifetimes, snapshot
from cxresearch.io import DataValidationError, load_source
from cxresearch.mapping import load_mapping, parse_mapping_text

FLAT_CSV = """Kunde,Wochen,Status,Umsatz,Vertrag,Zufriedenheit,Anrufe,Offen
K-01,52,aktiv,20.5,M,4,0,0
K-02,4,gekuendigt,10.0,J,1,3,2
K-03,104,aktiv,30.0,J,5,1,
K-04,13,gekuendigt,15.0,M,,5,1
"""

FLAT_MAPPING = """
name: hand-made flat
shape: flat
as_of: 2024-06-30
churn_period_months: 3
contacts_period: the last 12 months
sources:
  crm: kunden.csv
customers:
  from: crm
  columns:
    customer_id: Kunde
    tenure: {column: Wochen, unit: weeks}
    churned: {column: Status, values: {aktiv: false, gekuendigt: true}}
    monthly_margin: Umsatz
    contract: {column: Vertrag, values: {M: month_to_month, J: one_year}}
    csat_score: Zufriedenheit
    reactive_contacts: Anrufe
    unresolved_contacts: Offen
"""


def write_flat(tmp_path: Path, mapping: str = FLAT_MAPPING, csv: str = FLAT_CSV) -> Path:
    """The hand-made flat source and its mapping file in `tmp_path`; returns the mapping path."""
    (tmp_path / "kunden.csv").write_text(csv)
    path = tmp_path / "mapping.yaml"
    path.write_text(mapping)
    return path


def problem_lines(path: Path) -> list[str]:
    """The one-line problems loading `path` reports (fails when it loads)."""
    with pytest.raises(DataValidationError) as info:
        load_source(path)
    return [str(p) for p in info.value.problems]


def test_flat_mapping_aligns_tenure_and_churn_at_as_of(tmp_path: Path) -> None:
    data = load_source(write_flat(tmp_path))
    assert data.shape == "flat" and not data.has_timestamps
    assert data.observed_until == pd.Timestamp("2024-06-30")
    c = data.customers.set_index("customer_id")
    as_of = pd.Timestamp("2024-06-30")
    assert c.loc["K-02", "signup_date"] == as_of - pd.Timedelta(days=28)
    assert c.loc["K-02", "end_date"] == as_of and pd.isna(c.loc["K-01", "end_date"])
    assert c["contract"].tolist() == ["month_to_month", "one_year", "one_year", "month_to_month"]
    assert c["csat_score"].isna().sum() == 1 and c.loc["K-03", "csat_score"] == 5
    assert data.capabilities == {"churn", "csat", "contacts", "reactive", "contact_resolution", "left_truncation"}

    lt = lifetimes(data).set_index("customer_id")
    weeks = pd.Series({"K-01": 52, "K-02": 4, "K-03": 104, "K-04": 13})
    pdt.assert_series_equal(lt["duration_months"], weeks * 7 / 30.4375, check_names=False, check_index_type=False)
    assert lt["event"].tolist() == [False, True, False, True]
    # churned "this quarter": everyone was active 3 months before as_of (left truncation).
    assert lt.loc["K-01", "entry_months"] == pytest.approx(52 * 7 / 30.4375 - 3)
    assert lt.loc["K-02", "entry_months"] == 0


def test_flat_snapshot_names_counts_honestly(tmp_path: Path) -> None:
    snap = snapshot(load_source(write_flat(tmp_path)), as_of="", horizon_months=3).set_index("customer_id")
    assert not any(c.endswith("_90d") for c in snap.columns)
    assert "nps_last" not in snap and "ces_last" not in snap
    assert snap["reactive_contacts"].tolist() == [0, 3, 1, 5]
    assert snap.loc["K-02", "fcr_rate"] == pytest.approx(1 / 3) and pd.isna(snap.loc["K-01", "fcr_rate"])
    assert snap["csat_last"].tolist()[:3] == [4, 1, 5]
    assert snap["active"].all() and snap["churned"].tolist() == [False, True, False, True]
    assert snap.attrs["shape"] == "flat" and snap.attrs["horizon_months"] == 3
    assert snap.attrs["contacts_period"] == "the last 12 months"
    assert any("the last 12 months" in note for note in snap.attrs["notes"])


def test_events_mapping_with_join_sql_and_constants_equals_the_canonical_directory(tmp_path: Path) -> None:
    tables = canonical_tables()
    expected = load_source(write_source(tmp_path / "canonical", "csv", tables))
    raw = tmp_path / "raw"
    raw.mkdir()
    c = tables["customers"]
    c[["customer_id", "signup_date", "end_date"]].rename(
        columns={"customer_id": "id", "signup_date": "start", "end_date": "stop"}
    ).to_csv(raw / "crm.csv", index=False)
    c[["customer_id", "monthly_margin", "plan", "n_referrals"]].assign(
        monthly_margin=c["monthly_margin"] * 100, plan=c["plan"].str.upper()
    ).rename(columns={"customer_id": "id", "monthly_margin": "margin_cents"}).to_parquet(raw / "billing.parquet")
    k = tables["contacts"]
    k.assign(
        direction=k["direction"].map({"reactive": "IN", "proactive": "OUT"}),
        resolved_first_contact=k["resolved_first_contact"].map({True: "Y", False: "N"}),
    ).to_csv(raw / "calls.csv", index=False)
    s = tables["surveys"]
    for instrument in ("nps", "csat", "ces"):
        s[s["instrument"] == instrument].drop(columns="instrument").to_csv(raw / f"{instrument}.csv", index=False)
    survey_sections = "\n".join(
        f"""  - from: {i}
    columns: {{customer_id: customer_id, timestamp: timestamp, instrument: {{value: {i}}}, score: score}}"""
        for i in ("nps", "csat", "ces")
    )
    (raw / "map.yml").write_text(f"""
shape: events
sources:
  crm: crm.csv
  billing: billing.parquet
  calls: {{sql: "SELECT * FROM read_csv('calls.csv', all_varchar = true)"}}
  nps: nps.csv
  csat: csat.csv
  ces: ces.csv
customers:
  from: [crm, billing]
  key: id
  columns:
    customer_id: id
    signup_date: start
    end_date: stop
    monthly_margin: {{column: margin_cents, scale: 0.01}}
    plan: {{expr: "lower(plan)"}}
    n_referrals: n_referrals
contacts:
  from: calls
  columns:
    customer_id: customer_id
    timestamp: timestamp
    channel: channel
    direction: {{column: direction, values: {{IN: reactive, OUT: proactive}}}}
    reason: reason
    resolved_first_contact: {{column: resolved_first_contact, values: {{Y: true, N: false}}}}
    handle_minutes: handle_minutes
surveys:
{survey_sections}
""")
    data = load_source(raw / "map.yml")
    assert data.shape == "events" and data.observed_until == expected.observed_until
    for table in ("customers", "contacts"):
        pdt.assert_frame_equal(getattr(data, table), getattr(expected, table), check_like=True)
    by = ["customer_id", "timestamp"]
    pdt.assert_frame_equal(
        data.surveys.sort_values(by).reset_index(drop=True),
        expected.surveys.sort_values(by).reset_index(drop=True), check_like=True,
    )
    pdt.assert_frame_equal(snapshot(data, "2023-08-01"), snapshot(expected, "2023-08-01"), check_like=True)


def test_yaml_yes_no_keys_stay_text() -> None:
    mapping = parse_mapping_text(
        "shape: flat\nas_of: 2024-01-01\nsources: {s: x.csv}\ncustomers:\n  from: s\n  columns:\n"
        "    customer_id: id\n    tenure: {column: t, unit: days}\n"
        "    churned: {column: c, values: {Yes: true, No: false}}\n    monthly_margin: m\n",
        Path("."),
    )
    assert mapping.tables["customers"][0].columns["churned"].values == {"Yes": True, "No": False}


def test_mistakes_are_one_line_each_naming_key_column_and_examples(tmp_path: Path) -> None:
    csv = FLAT_CSV.replace("K-04,13,gekuendigt", "K-04,13,pausiert").replace("K-03,104", "K-03,lang")
    mapping = FLAT_MAPPING.replace("Umsatz", "Umsatzz").replace("  crm: kunden.csv", "  crm: kunden.csv\n  old: alt.csv")
    lines = problem_lines(write_flat(tmp_path, mapping, csv))
    assert len(lines) == 4, lines
    assert lines[0].startswith("sources.old: file not found") and "alt.csv" in lines[0]
    assert lines[1] == "customers.columns.tenure: 1 row: column 'Wochen': not a number (e.g. 'lang')"
    assert lines[2].startswith("customers.columns.churned: 1 row: column 'Status' has values not in `values`")
    assert "(e.g. 'pausiert')" in lines[2]
    assert lines[3] == "customers.columns.monthly_margin: no column 'Umsatzz' in crm; closest: 'Umsatz'"
    # A wrong type found by the canonical checks names the canonical column, the mapping key and examples.
    lines = problem_lines(write_flat(tmp_path, FLAT_MAPPING.replace("Zufriedenheit", "Vertrag")))
    assert len(lines) == 1 and lines[0].startswith("customers.csat_score: 4 rows: not a whole number: 'M', 'J'")
    assert "[mapping customers.columns.csat_score: column 'Vertrag']" in lines[0]


def test_structural_mistakes_are_reported_together(tmp_path: Path) -> None:
    mapping = FLAT_MAPPING.replace("as_of: 2024-06-30\n", "").replace("monthly_margin", "monthly_margn").replace(
        "unit: weeks", "unit: fortnights"
    ) + "colour: blue\n"
    lines = problem_lines(write_flat(tmp_path, mapping))
    assert any(line.startswith("colour: unknown key") for line in lines)
    assert "as_of: required for flat data: the date the data describes (YYYY-MM-DD)" in lines
    assert "customers.columns.monthly_margn: not a canonical column; did you mean monthly_margin?" in lines
    assert any(line.startswith("customers.columns.tenure: unit must be one of days, weeks") for line in lines)
    assert "customers.columns: missing required column: monthly_margin" in lines


def test_mapping_problems_rejects_a_customers_section_without_source(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="customers.from: missing"):
        load_mapping(parse_mapping_text("sources: {a: a.csv}\ncustomers: {columns: {customer_id: id}}\n", tmp_path))


def test_example_mappings_parse() -> None:
    from cxresearch.mapping import read_mapping

    examples = Path(__file__).resolve().parents[1] / "examples"
    events = read_mapping(examples / "events.yaml")
    assert events.shape == "events" and len(events.tables["surveys"]) == 2
    flat = read_mapping(examples / "telco_flat.yaml")
    assert flat.shape == "flat" and flat.churn_period_months == 3
