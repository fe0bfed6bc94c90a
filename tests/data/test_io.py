"""Loading a data directory: typed columns, CSV = Parquet, fingerprints, and file-level problems."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from cxresearch.data.load import fingerprint_files, load_source
from cxresearch.data.schema import TEXT_DTYPE
from cxresearch.data.validation.problems import DataValidationError, Problem

FORMATS = ("csv", "parquet")


def canonical_tables() -> dict[str, pd.DataFrame]:
    """A small valid world: 5 customers (2 churned), 10 contacts, 10 survey responses, typed canonically."""
    customers = pd.DataFrame(
        {
            "customer_id": ["C001", "C002", "C003", "C004", "C005"],
            "signup_date": pd.to_datetime(
                ["2023-01-05", "2023-02-10", "2023-03-01", "2023-03-15", "2023-04-01"]
            ),
            "end_date": pd.to_datetime([None, "2023-09-30", None, "2023-08-15", None]),
            "monthly_margin": [12.5, 30.0, 8.25, 20.0, 15.0],
            "plan": ["basic", "premium", "basic", "basic", "premium"],
            "n_referrals": [0, 2, 1, 0, 3],
        }
    )
    contacts = pd.DataFrame(
        {
            "customer_id": ["C001", "C001", "C002", "C002", "C003", "C003", "C004", "C004", "C005", "C005"],
            "timestamp": pd.to_datetime(
                [
                    "2023-02-01 09:30",
                    "2023-05-03 14:00",
                    "2023-03-01 10:00",
                    "2023-09-30 16:45",
                    "2023-03-02 08:00",
                    "2023-07-07 12:00",
                    "2023-04-01 11:11",
                    "2023-08-15 09:00",
                    "2023-04-02 10:00",
                    "2023-11-30 17:00",
                ]
            ),
            "channel": ["phone", "chat", "email", "phone", "store", "app", "phone", "chat", "email", "phone"],
            "direction": [
                "reactive",
                "proactive",
                "reactive",
                "reactive",
                "reactive",
                "proactive",
                "reactive",
                "reactive",
                "proactive",
                "reactive",
            ],
            "reason": [
                "billing",
                "follow_up",
                "technical",
                "channel_inconsistency",
                "billing",
                "follow_up",
                "billing",
                "technical",
                "follow_up",
                "billing",
            ],
            "resolved_first_contact": pd.array(
                [True, None, False, True, True, None, False, True, None, True], dtype="boolean"
            ),
            "handle_minutes": [5.0, 1.5, 12.0, 7.25, 3.0, 0.5, 9.0, 4.0, 1.0, 6.0],
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["C001", "C001", "C002", "C002", "C003", "C003", "C004", "C004", "C005", "C005"],
            "timestamp": pd.to_datetime(
                [
                    "2023-02-02 10:00",
                    "2023-06-01 10:00",
                    "2023-03-02 10:00",
                    "2023-09-01 10:00",
                    "2023-03-03 10:00",
                    "2023-08-01 10:00",
                    "2023-04-02 10:00",
                    "2023-08-10 10:00",
                    "2023-04-03 10:00",
                    "2023-12-01 10:00",
                ]
            ),
            "instrument": ["nps", "csat", "ces", "nps", "csat", "ces", "nps", "nps", "csat", "ces"],
            "score": [9, 4, 2, 3, 5, 7, 0, 10, 1, 1],
        }
    )
    return {"customers": customers, "contacts": contacts, "surveys": surveys}


def write_source(
    directory: Path,
    fmt: str = "csv",
    tables: dict[str, pd.DataFrame] | None = None,
    dataset: dict | None = None,
) -> Path:
    """Write `tables` (default: the valid world) as `<table>.<fmt>` files, plus dataset.json if given."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, df in (tables or canonical_tables()).items():
        if fmt == "csv":
            df.to_csv(directory / f"{name}.csv", index=False)
        else:
            df.to_parquet(directory / f"{name}.parquet", index=False)
    if dataset is not None:
        (directory / "dataset.json").write_text(json.dumps(dataset))
    return directory


def problems_of(source: Path) -> list[Problem]:
    """The problems load_source reports for `source` (fails the test if it loads)."""
    with pytest.raises(DataValidationError) as info:
        load_source(source)
    return info.value.problems


def only(problems: list[Problem], table: str, column: str | None) -> Problem:
    """The single problem reported on `table.column`."""
    matching = [p for p in problems if p.table == table and p.column == column]
    assert len(matching) == 1, f"expected one problem on {table}.{column}, got: {[str(p) for p in problems]}"
    return matching[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_valid_source_loads_with_canonical_dtypes(tmp_path: Path, fmt: str) -> None:
    data = load_source(write_source(tmp_path, fmt))
    assert (len(data.customers), len(data.contacts), len(data.surveys)) == (5, 10, 10)
    c, k, s = data.customers, data.contacts, data.surveys
    assert c["customer_id"].dtype == TEXT_DTYPE and c["customer_id"].tolist()[0] == "C001"
    for col in (c["signup_date"], c["end_date"], k["timestamp"], s["timestamp"]):
        assert col.dtype == "datetime64[ns]"
    assert c["monthly_margin"].dtype == "float64"
    assert c["n_referrals"].dtype == "int64"
    assert s["score"].dtype == "int64"
    assert k["resolved_first_contact"].dtype == "boolean"
    assert k["resolved_first_contact"].isna().sum() == 3
    assert k["handle_minutes"].dtype == "float64"
    assert c["end_date"].isna().sum() == 3
    # No observed_until given: the latest date in the data.
    assert data.observed_until == pd.Timestamp("2023-12-01 10:00")
    assert data.name == tmp_path.name
    assert len(data.fingerprint) == 16


def test_csv_and_parquet_give_equal_frames(tmp_path: Path) -> None:
    from_csv = load_source(write_source(tmp_path / "csv", "csv"))
    from_parquet = load_source(write_source(tmp_path / "parquet", "parquet"))
    for table in ("customers", "contacts", "surveys"):
        pdt.assert_frame_equal(getattr(from_csv, table), getattr(from_parquet, table))
    assert from_csv.observed_until == from_parquet.observed_until


def test_ids_are_kept_as_given_and_extra_columns_kept(tmp_path: Path) -> None:
    tables = canonical_tables()
    ids = {"C001": "007", "C002": "0001", "C003": "3", "C004": "04", "C005": "5"}
    for df in tables.values():
        df["customer_id"] = df["customer_id"].map(ids)
    tables["customers"]["loyalty_tier"] = ["gold", "silver", "gold", "bronze", "gold"]
    data = load_source(write_source(tmp_path, "csv", tables))
    assert data.customers["customer_id"].tolist() == ["007", "0001", "3", "04", "5"]
    assert data.customers["loyalty_tier"].tolist()[0] == "gold"
    # Optional columns that are absent stay absent.
    assert "acquisition_cost" not in data.customers and "contact_id" not in data.surveys


def test_dataset_json_sets_name_and_observed_until(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "csv",
        dataset={"name": "acme", "observed_until": "2023-12-31", "observed_from": "2023-01-01"},
    )
    data = load_source(source)
    assert data.name == "acme"
    assert data.observed_until == pd.Timestamp("2023-12-31")
    assert data.metadata["observed_from"] == "2023-01-01"


def test_bad_observed_until_in_dataset_json(tmp_path: Path) -> None:
    source = write_source(tmp_path, "csv", dataset={"observed_until": "end of 2023"})
    problem = only(problems_of(source), "dataset.json", "observed_until")
    assert "not an ISO 8601 date" in problem.message


def test_fingerprint_covers_the_files_read(tmp_path: Path) -> None:
    source = write_source(tmp_path, "parquet")
    data = load_source(source)
    assert data.fingerprint == fingerprint_files(sorted(source.glob("*.parquet"), reverse=True))
    (source / "dataset.json").write_text('{"name": "x"}')
    assert load_source(source).fingerprint != data.fingerprint


def test_fingerprint_files_is_sha256_prefix_in_name_order(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / "b.csv").write_bytes(b"second")
    (tmp_path / "a.csv").write_bytes(b"first")
    expected = hashlib.sha256(b"firstsecond").hexdigest()[:16]
    assert fingerprint_files([tmp_path / "b.csv", tmp_path / "a.csv"]) == expected


def test_missing_directory(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path / "nope"), "source", None)
    assert "no such directory" in problem.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_table(tmp_path: Path, fmt: str) -> None:
    source = write_source(tmp_path, fmt)
    (source / f"surveys.{fmt}").unlink()
    problem = only(problems_of(source), "surveys", None)
    assert problem.n_rows == 0 and "table missing" in problem.message


def test_table_in_both_formats_is_ambiguous(tmp_path: Path) -> None:
    source = write_source(tmp_path, "csv")
    canonical_tables()["contacts"].to_parquet(source / "contacts.parquet")
    assert "keep one" in only(problems_of(source), "contacts", None).message


@pytest.mark.parametrize("table", ["customers", "contacts", "surveys"])
def test_zero_byte_file(tmp_path: Path, table: str) -> None:
    source = write_source(tmp_path, "csv")
    (source / f"{table}.csv").write_bytes(b"")
    assert "empty (0 bytes)" in only(problems_of(source), table, None).message


def test_zero_byte_parquet(tmp_path: Path) -> None:
    source = write_source(tmp_path, "parquet")
    (source / "surveys.parquet").write_bytes(b"")
    assert "empty (0 bytes)" in only(problems_of(source), "surveys", None).message


@pytest.mark.parametrize("fmt", FORMATS)
def test_customers_with_header_only(tmp_path: Path, fmt: str) -> None:
    tables = canonical_tables()
    tables = {
        "customers": tables["customers"].iloc[:0],
        "contacts": tables["contacts"].iloc[:0],
        "surveys": tables["surveys"].iloc[:0],
    }
    problems = problems_of(write_source(tmp_path, fmt, tables))
    assert "has no rows" in only(problems, "customers", None).message
    # Contacts and surveys with a header and no rows are allowed.
    assert {p.table for p in problems} == {"customers"}


def test_events_with_header_only_are_allowed(tmp_path: Path) -> None:
    tables = canonical_tables()
    tables["contacts"] = tables["contacts"].iloc[:0]
    tables["surveys"] = tables["surveys"].iloc[:0]
    data = load_source(write_source(tmp_path, "csv", tables))
    assert len(data.contacts) == 0 and len(data.surveys) == 0
    assert data.surveys["score"].dtype == "int64"


def test_utf16_file_is_not_utf8(tmp_path: Path) -> None:
    source = write_source(tmp_path, "csv")
    text = (source / "contacts.csv").read_text()
    (source / "contacts.csv").write_bytes(text.encode("utf-16"))
    problem = only(problems_of(source), "contacts", None)
    assert "not UTF-8 text" in problem.message and "\n" not in str(problem)


def test_latin1_file_is_not_utf8(tmp_path: Path) -> None:
    tables = canonical_tables()
    tables["customers"].loc[0, "plan"] = "básico"
    source = write_source(tmp_path, "csv", tables)
    (source / "customers.csv").write_bytes((source / "customers.csv").read_text().encode("latin-1"))
    problem = only(problems_of(source), "customers", None)
    assert "not UTF-8 text" in problem.message and "0xe1" in problem.message


def test_utf8_with_bom_is_fine(tmp_path: Path) -> None:
    source = write_source(tmp_path, "csv")
    (source / "customers.csv").write_bytes(b"\xef\xbb\xbf" + (source / "customers.csv").read_bytes())
    assert load_source(source).customers["customer_id"].iloc[0] == "C001"


def test_unreadable_parquet(tmp_path: Path) -> None:
    source = write_source(tmp_path, "parquet")
    good = (source / "contacts.parquet").read_bytes()
    (source / "contacts.parquet").write_bytes(good[: len(good) // 2])
    problem = only(problems_of(source), "contacts", None)
    assert "not a readable Parquet file" in problem.message and "\n" not in str(problem)


def test_malformed_csv(tmp_path: Path) -> None:
    source = write_source(tmp_path, "csv")
    with open(source / "surveys.csv", "a") as f:
        f.write("C001,2023-05-01,nps,7,unexpected\n")
    assert "not a readable CSV file" in only(problems_of(source), "surveys", None).message


def test_parquet_numeric_ids_and_tz_aware_timestamps(tmp_path: Path) -> None:
    tables = canonical_tables()
    for df in tables.values():
        df["customer_id"] = df["customer_id"].str[1:].astype("int64")
    tables["contacts"]["timestamp"] = tables["contacts"]["timestamp"].dt.tz_localize("Europe/Berlin")
    data = load_source(write_source(tmp_path, "parquet", tables))
    assert data.customers["customer_id"].tolist()[:2] == ["1", "2"]
    assert data.contacts["timestamp"].dtype == "datetime64[ns]"
    # 09:30 Berlin (CET) is 08:30 UTC.
    assert data.contacts["timestamp"].iloc[0] == pd.Timestamp("2023-02-01 08:30")


def test_parquet_written_with_customer_id_as_index(tmp_path: Path) -> None:
    source = write_source(tmp_path, "parquet")
    canonical_tables()["customers"].set_index("customer_id").to_parquet(source / "customers.parquet")
    assert load_source(source).customers["customer_id"].tolist()[0] == "C001"


def test_parquet_float_coded_ids_with_gaps(tmp_path: Path) -> None:
    tables = canonical_tables()
    tables["surveys"]["contact_id"] = [1.0, None, 3.0, None, 5.0, None, 7.0, None, 9.0, None]
    data = load_source(write_source(tmp_path, "parquet", tables))
    first = data.surveys["contact_id"].tolist()[:3]
    assert first[0] == "1" and pd.isna(first[1]) and first[2] == "3"


def test_parquet_timestamp_beyond_nanosecond_range(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = write_source(tmp_path, "parquet")
    customers = pa.Table.from_pandas(canonical_tables()["customers"], preserve_index=False)
    end = pa.array([None, "2023-09-30", "9999-12-31", "2023-08-15", None]).cast(pa.timestamp("s"))
    end = end.cast(pa.timestamp("us"))
    customers = customers.set_column(customers.schema.get_field_index("end_date"), "end_date", end)
    pq.write_table(customers, source / "customers.parquet")
    problem = only(problems_of(source), "customers", "end_date")
    assert (problem.n_rows, problem.examples) == (1, ["C003"]) and "1677-2262" in problem.message


def test_write_source_round_trips_flat_data_and_transactions(tmp_path: Path) -> None:
    from cxresearch.data.mapping.apply import load_mapping
    from cxresearch.data.mapping.spec import parse_mapping_text

    (tmp_path / "src.csv").write_text("id,months,left,eur,csat\n1,3,yes,9.5,4\n2,12,no,20,\n")
    mapped = load_mapping(parse_mapping_text(
        "shape: flat\nas_of: 2024-03-31\nchurn_period_months: 3\nsources: {s: src.csv}\ncustomers:\n"
        "  from: s\n  columns: {customer_id: id, tenure: {column: months, unit: months}, churned: left,"
        " monthly_margin: eur, csat_score: csat}\n", tmp_path))
    mapped.transactions = pd.DataFrame({"customer_id": ["1", "2"], "timestamp": pd.to_datetime(["2024-01-02"] * 2),
                                        "amount": [3.0, 4.5]})
    from cxresearch.data.load import write_source as write_canonical

    again = load_source(write_canonical(mapped, tmp_path / "canonical"))
    assert again.shape == "flat" and again.name == mapped.name and again.capabilities == mapped.capabilities
    for table in ("customers", "contacts", "surveys", "transactions"):
        pdt.assert_frame_equal(getattr(again, table), getattr(mapped, table), check_dtype=False)
    assert again.metadata["observed_from"] == mapped.metadata["observed_from"]
    assert again.metadata["source_fingerprint"] == mapped.fingerprint
    # The stated churn period and its sentence travel with the copy a suite run loads.
    assert again.metadata["assumptions"] == mapped.metadata["assumptions"] == [
        "Lifetimes assume the churn flag covers the last 3 months (customers who left earlier are not in the data)."
    ]
    assert again.metadata["churn_period_months"] == 3.0


def test_dataset_json_currency_passes_through(tmp_path: Path) -> None:
    assert load_source(write_source(tmp_path / "a", "csv", dataset={"currency": "USD"})).currency == "USD"
    assert load_source(write_source(tmp_path / "b", "csv", dataset={"name": "x"})).currency == "currency units"
    problem = only(problems_of(write_source(tmp_path / "c", "csv", dataset={"currency": 1})), "dataset.json", "currency")
    assert problem.message == "must be the currency's code (e.g. USD), not 1"


@pytest.mark.parametrize("written", ["31.12.2023", "12/31/2023", "2023-13-01"])
def test_dataset_json_dates_are_iso_8601_only(tmp_path: Path, written: str) -> None:
    problem = only(problems_of(write_source(tmp_path, "csv", dataset={"observed_until": written})), "dataset.json",
                   "observed_until")
    assert problem.message == f"not an ISO 8601 date (YYYY-MM-DD): {written!r}"
    data = load_source(write_source(tmp_path / "ok", "csv", dataset={"observed_until": "2023-12-31T00:00:00"}))
    assert data.observed_until == pd.Timestamp("2023-12-31")


def test_transactions_table_is_checked(tmp_path: Path) -> None:
    source = write_source(tmp_path, "csv")
    (source / "transactions.csv").write_text("customer_id,timestamp,amount\nC001,2023-02-01,10\nC999,2023-02-01,-1\n")
    problems = problems_of(source)
    assert "customer_id not in customers" in only(problems, "transactions", "customer_id").message
    assert only(problems, "transactions", "amount").examples == ["C999"]
