"""Mapping files: both shapes map onto the canonical model exactly, and every mistake is one clear line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
from test_io import canonical_tables, write_source

from cxresearch.data.load import load_source
from cxresearch.data.mapping.apply import load_mapping
from cxresearch.data.mapping.spec import parse_mapping_text
from cxresearch.data.validation.problems import DataValidationError
from cxresearch.features.snapshot import lifetimes, snapshot

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
    # 4 weeks = 28 days is put on the monthly grid of the churn flag: 28 / 30.4375 rounds to 1 month.
    assert c.loc["K-02", "signup_date"] == as_of - pd.Timedelta(days=30.4375)
    assert c.loc["K-02", "end_date"] == as_of and pd.isna(c.loc["K-01", "end_date"])
    assert c["contract"].tolist() == ["month_to_month", "one_year", "one_year", "month_to_month"]
    assert c["csat_score"].isna().sum() == 1 and c.loc["K-03", "csat_score"] == 5
    assert data.capabilities == {"churn", "csat", "contacts", "reactive", "contact_resolution", "left_truncation"}

    lt = lifetimes(data).set_index("customer_id")
    # 52, 4, 104 and 13 weeks are 11.96, 0.92, 23.92 and 2.99 average months: whole months 12, 1, 24, 3.
    months = pd.Series({"K-01": 12.0, "K-02": 1.0, "K-03": 24.0, "K-04": 3.0})
    pdt.assert_series_equal(lt["duration_months"], months, check_names=False, check_index_type=False)
    assert lt["event"].tolist() == [False, True, False, True]
    # churned "this quarter": everyone was active 3 months before as_of (left truncation).
    assert lt.loc["K-01", "entry_months"] == pytest.approx(12 - 3)
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
        "shape: flat\nas_of: 2024-01-01\nchurn_period_months: all\nsources: {s: x.csv}\ncustomers:\n"
        "  from: s\n  columns:\n"
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
    from cxresearch.data.mapping.spec import read_mapping

    examples = Path(__file__).resolve().parents[2] / "examples"
    events = read_mapping(examples / "events.yaml")
    assert events.shape == "events" and len(events.tables["surveys"]) == 2
    flat = read_mapping(examples / "telco_flat.yaml")
    assert flat.shape == "flat" and flat.churn_period_months == 3


# --- sources as real exports come -------------------------------------------------------------------------

EXPORT_MAPPING = """
shape: flat
as_of: 2024-06-30
churn_period_months: 1
currency: EUR
sources:
  crm: {path: export.csv, delimiter: ";", decimal: ",", thousands: ".", encoding: cp1252, quotechar: "'",
        na_values: ["-", k.A.]}
customers:
  from: crm
  columns:
    customer_id: Nr
    tenure: {column: Monate, unit: months}
    churned: {column: Status, values: {aktiv: false, gekündigt: true}}
    monthly_margin: Marge
    acquisition_cost: {expr: "Kosten * 2"}
    plan: Tarif
"""

# cp1252 text, `;` between fields, `'` quoting a field holding `;`, decimal commas and thousands dots.
EXPORT_CSV = (
    "Nr;Monate;Status;Marge;Kosten;Tarif\n"
    "00123;12;aktiv;1.234,56;10,5;'Basis; alt'\n"
    "00124;3;gekündigt;-0,75;-;Plus\n"
    "00125;1.200;aktiv;12;k.A.;Plus\n"
).encode("cp1252")


def write_export(tmp_path: Path, mapping: str = EXPORT_MAPPING, csv: bytes = EXPORT_CSV) -> Path:
    """The cp1252 `;` export and its mapping in `tmp_path`; returns the mapping path."""
    (tmp_path / "export.csv").write_bytes(csv)
    (tmp_path / "mapping.yaml").write_text(mapping, encoding="utf-8")
    return tmp_path / "mapping.yaml"


def test_csv_options_read_an_export_exactly(tmp_path: Path) -> None:
    data = load_source(write_export(tmp_path))
    c = data.customers.set_index("customer_id")
    assert c.index.tolist() == ["00123", "00124", "00125"]  # ids keep their leading zeros
    assert c["monthly_margin"].tolist() == [1234.56, -0.75, 12.0]  # exactly, not 1.23456 or 123456
    assert c.loc["00123", "acquisition_cost"] == 21.0  # 10,5 x 2: decimal commas reach SQL expressions too
    assert c["acquisition_cost"].isna().tolist() == [False, True, True]  # "-" and "k.A." are missing
    assert c.loc["00123", "plan"] == "Basis; alt"
    assert c.loc["00124", "end_date"] == pd.Timestamp("2024-06-30")
    # 1.200 months with a thousands dot is 1200 months: 100 years before as_of.
    assert lifetimes(data).set_index("customer_id").loc["00125", "duration_months"] == pytest.approx(1200)
    assert data.currency == "EUR"


def test_numbers_that_do_not_follow_the_source_marks_are_refused(tmp_path: Path) -> None:
    # 1.5 in a decimal-comma file is neither 1.5 nor 15: refused with the marks it should follow.
    lines = problem_lines(write_export(tmp_path, csv=EXPORT_CSV.replace(b"-0,75", b"1.5")))
    assert lines == ["customers.columns.monthly_margin: 1 row: column 'Marge': not a number written with "
                     "decimal ',', thousands '.' (sources.crm) (e.g. '1.5')"]
    # Decimal commas without `decimal` say which option is missing.
    mapping = EXPORT_MAPPING.replace('decimal: ",", thousands: ".", ', "").replace("    acquisition_cost: {expr: \"Kosten * 2\"}\n", "")
    lines = problem_lines(write_export(tmp_path, mapping, EXPORT_CSV.replace(b"1.234,56", b"1234,56")))
    assert lines == ["customers.columns.monthly_margin: 2 rows: column 'Marge': numbers with a comma; set decimal: "
                     "\",\" (and thousands: \".\" if used) in sources.crm, or thousands: \",\" if the comma separates "
                     "thousands (e.g. '1234,56', '-0,75')"]


def test_a_forgotten_delimiter_is_named_once(tmp_path: Path) -> None:
    mapping = EXPORT_MAPPING.replace('delimiter: ";", ', "")
    lines = problem_lines(write_export(tmp_path, mapping))
    assert lines == ["sources.crm: export.csv: only one column found ('Nr;Monate;Status;Marge;Kosten;Tarif'): is the "
                     "delimiter ';'? Set delimiter: \";\" in sources.crm"]
    (tmp_path / "tabs.csv").write_text("id\tmonths\tleft\tmargin\n1\t3\tno\t2.5\n")
    lines = problem_lines(write_flat(tmp_path, FLAT_MAPPING.replace("crm: kunden.csv", "crm: tabs.csv")))
    assert lines == ["sources.crm: tabs.csv: only one column found ('id\\tmonths\\tleft\\tmargin'): is the delimiter a "
                     "tab (\"\\t\")? Set delimiter: \"\\t\" in sources.crm"]


def test_source_options_are_checked(tmp_path: Path) -> None:
    mapping = EXPORT_MAPPING.replace('decimal: ","', 'decimal: ",,"').replace("cp1252", "klingon").replace(
        "  crm: {path", "  old: {path: old.parquet, decimal: \",\"}\n  crm: {path")
    with pytest.raises(DataValidationError) as info:
        load_source(write_export(tmp_path, mapping))
    lines = [str(p) for p in info.value.problems]
    assert "sources.old: decimal: options for CSV and text files only" in lines
    assert "sources.crm.decimal: must be one character in quotes (e.g. \";\"), not ',,'" in lines
    assert any(line.startswith("sources.crm.encoding: unknown encoding 'klingon'") for line in lines)
    # Without `encoding`, a cp1252 file is not UTF-8: the message says how to read it.
    lines = problem_lines(write_export(tmp_path, EXPORT_MAPPING.replace(" encoding: cp1252,", "")))
    assert lines == ["sources.crm: export.csv is not UTF-8 text: save it as UTF-8, or set encoding (e.g. cp1252, latin-1)"]


# --- dates ----------------------------------------------------------------------------------------------

EVENTS_MAPPING = """
shape: events
as_of: 2024-06-30
sources:
  crm: {{path: crm.csv{options}}}
customers:
  from: crm
  columns: {{customer_id: id, signup_date: start, end_date: stop, monthly_margin: margin}}
"""


def write_dates(tmp_path: Path, starts: list[str], options: str = "") -> Path:
    """A customers export with text sign-up dates `starts`, and its events mapping."""
    rows = "".join(f"c{i},{start},,10\n" for i, start in enumerate(starts))
    (tmp_path / "crm.csv").write_text("id,start,stop,margin\n" + rows)
    (tmp_path / "mapping.yaml").write_text(EVENTS_MAPPING.format(options=options))
    return tmp_path / "mapping.yaml"


def test_mapping_dates_must_be_written_iso(tmp_path: Path) -> None:
    path = write_dates(tmp_path, ["2024-01-02"])
    path.write_text(path.read_text().replace("as_of: 2024-06-30", "as_of: 31.12.2024\nobserved_from: \"2024/01/01\""))
    lines = problem_lines(path)
    assert lines == ["as_of: must be a date written YYYY-MM-DD (e.g. 2024-12-31), not '31.12.2024'",
                     "observed_from: must be a date written YYYY-MM-DD (e.g. 2024-12-31), not '2024/01/01'"]
    path.write_text(path.read_text().replace("as_of: 31.12.2024", "as_of: \"2024-02-30\""))
    assert problem_lines(path)[0] == "as_of: must be a date written YYYY-MM-DD (e.g. 2024-12-31), not '2024-02-30'"


def test_ambiguous_day_month_dates_are_refused_unless_the_order_is_given(tmp_path: Path) -> None:
    lines = problem_lines(write_dates(tmp_path, ["03/04/2024", "05/06/2024", "01/01/2024"]))
    assert len(lines) == 1 and lines[0].startswith(
        "customers.columns.signup_date: 3 rows: column 'start': day and month could be either way round")
    assert "set dayfirst: true (31.12.2024) or dayfirst: false (12/31/2024)" in lines[0]
    assert "(e.g. '03/04/2024', '05/06/2024')" in lines[0]
    for dayfirst, april in (("true", "2024-04-03"), ("false", "2024-03-04")):
        data = load_source(write_dates(tmp_path, ["03/04/2024", "05/06/2024"], f", dayfirst: {dayfirst}"))
        assert data.customers["signup_date"].iloc[0] == pd.Timestamp(april)
    data = load_source(write_dates(tmp_path, ["03.04.2024"], ', date_format: "%m.%d.%Y"'))
    assert data.customers["signup_date"].iloc[0] == pd.Timestamp("2024-03-04")


def test_day_month_order_is_inferred_only_when_the_data_settles_it(tmp_path: Path) -> None:
    data = load_source(write_dates(tmp_path, ["03/04/2024", "13/04/2024", "01.02.24 10:30"]))
    assert data.customers["signup_date"].tolist() == [
        pd.Timestamp("2024-04-03"), pd.Timestamp("2024-04-13"), pd.Timestamp("2024-02-01 10:30")]
    assert "customers.columns.signup_date: dates in column 'start' read day first (DD/MM), the only reading that " \
           "fits every value (some day is above 12)." in data.metadata["notes"]
    data = load_source(write_dates(tmp_path, ["03/04/2024", "04/13/2024"]))
    assert data.customers["signup_date"].tolist() == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-04-13")]
    lines = problem_lines(write_dates(tmp_path, ["13/04/2024", "04/13/2024"]))
    assert "mixes day-first and month-first dates" in lines[0]
    lines = problem_lines(write_dates(tmp_path, ["31/02/2024", "13/04/2024"]))
    assert lines == ["customers.columns.signup_date: 1 row: column 'start': not a valid date (e.g. '31/02/2024')"]
    lines = problem_lines(write_dates(tmp_path, ["2024-01-02", "Jan 3 2024"]))
    assert lines[0].startswith("customers.columns.signup_date: 1 row: column 'start': not a date: write YYYY-MM-DD, "
                               "or give the column's format")


# --- flat data: what the churn flag covers ---------------------------------------------------------------


def test_flat_data_must_say_what_the_churn_flag_covers(tmp_path: Path) -> None:
    lines = problem_lines(write_flat(tmp_path, FLAT_MAPPING.replace("churn_period_months: 3\n", "")))
    assert len(lines) == 1 and lines[0].startswith("churn_period_months: required for flat data: say what period "
                                                   "the churn flag covers, in months (1 = left in the last month")
    assert "It decides the lifetime and CLV figures" in lines[0]
    lines = problem_lines(write_flat(tmp_path, FLAT_MAPPING.replace("churn_period_months: 3", "churn_period_months: -1")))
    assert lines == ["churn_period_months: must be a number of months (e.g. 1, 3) or all, not -1"]


def test_churn_period_sets_truncation_and_the_stated_assumption(tmp_path: Path) -> None:
    quarter = load_source(write_flat(tmp_path))
    assert quarter.metadata["churn_period_months"] == 3.0
    assert quarter.metadata["observed_from"] == (pd.Timestamp("2024-06-30") - pd.Timedelta(days=3 * 30.4375)).isoformat()
    assert quarter.metadata["assumptions"] == [
        "Lifetimes assume the churn flag covers the last 3 months (customers who left earlier are not in the data)."]
    whole = load_source(write_flat(tmp_path, FLAT_MAPPING.replace("churn_period_months: 3", "churn_period_months: all")))
    assert whole.metadata["churn_period_months"] is None and "observed_from" not in whole.metadata
    assert "left_truncation" not in whole.capabilities
    assert whole.metadata["assumptions"][0].startswith("Lifetimes assume the churn flag covers the customers' whole")
    assert lifetimes(whole)["entry_months"].tolist() == [0.0] * 4
    assert snapshot(whole, as_of="").attrs["horizon_months"] is None
    # Event data states no such assumption: its dates say when each customer left.
    events = load_source(write_dates(tmp_path, ["2024-01-02"]))
    assert "assumptions" not in events.metadata and events.currency == "currency units"


def test_currency_is_text(tmp_path: Path) -> None:
    path = write_dates(tmp_path, ["2024-01-02"])
    path.write_text(path.read_text() + "currency: 12\n")
    assert problem_lines(path) == ["currency: must be the currency's code or name (e.g. USD), not 12"]


@pytest.mark.parametrize(("unit", "per_month"), [("days", 30.0), ("days", 30.4375), ("weeks", 30.4375 / 7)])
def test_tenure_in_days_or_weeks_is_counted_in_whole_months(tmp_path: Path, unit: str, per_month: float) -> None:
    months = [0, 1, 2, 11, 35, 36, 71, 72]
    rows = "".join(f"K-{i},{round(m * per_month)},aktiv,10.0\n" for i, m in enumerate(months))
    mapping = FLAT_MAPPING.replace("unit: weeks", f"unit: {unit}").split("    contract:")[0]
    data = load_source(write_flat(tmp_path, mapping, "Kunde,Wochen,Status,Umsatz\n" + rows))
    assert lifetimes(data)["duration_months"].tolist() == [float(m) for m in months]
    thirty = "every value is a multiple of 30: months of 30 days" if per_month == 30.0 else "an average month of 30.4375 days"
    assert f"Tenure in {unit} is counted in whole months, the grid the churn flag is defined on ({thirty}, rounded " \
           "to the nearest month)." in data.metadata["notes"]
