"""Database sources without a server: the `databases` section's checks, and a DuckDB database file read through a
mapping into the same `CXData` as the Parquet files it was made from."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from database_worlds import assert_same_data, world_mapping, write_duckdb
from typer.testing import CliRunner

from cxresearch.data.database import clean_message
from cxresearch.data.load import load_source
from cxresearch.data.mapping.apply import load_mapping
from cxresearch.data.mapping.spec import parse_mapping_text
from cxresearch.data.validation.problems import DataValidationError
from cxresearch.run.cli import app

runner = CliRunner()

SERVER = {"type": "postgres", "host": "db.example.com", "database": "crm", "user": "analyst"}


def _problems(text: str) -> list[str]:
    """The problem lines a mapping's text gets when parsed."""
    with pytest.raises(DataValidationError) as err:
        parse_mapping_text(text, Path("."))
    return [str(p) for p in err.value.problems]


def _mapping_text(database: dict, source: str = "{database: crm, table: customers}") -> str:
    """A minimal mapping with one database `crm` and one source read from it."""
    settings = ", ".join(f"{k}: {v}" for k, v in database.items())
    return (f"databases:\n  crm: {{{settings}}}\nsources:\n  c: {source}\ncustomers:\n  from: c\n  columns:\n"
            "    customer_id: id\n    signup_date: start\n    monthly_margin: margin\n")


def test_a_password_written_in_the_mapping_is_refused_without_echoing_it() -> None:
    for key in ("password", "url", "dsn"):
        lines = _problems(_mapping_text({**SERVER, key: "Hunter2-Literal"}))
        assert len(lines) == 1 and lines[0].startswith(f"databases.crm.{key}: secrets are refused"), lines
        assert "password_env" in lines[0] and "Hunter2-Literal" not in lines[0]


def test_password_env_must_name_a_variable_and_its_value_is_not_echoed() -> None:
    lines = _problems(_mapping_text({**SERVER, "password_env": "'p@ss w0rd!'"}))
    assert len(lines) == 1 and lines[0].startswith("databases.crm.password_env: must name an environment variable")
    assert "p@ss" not in lines[0]


def test_database_sections_and_sources_are_checked() -> None:
    assert _problems(_mapping_text({"type": "oracle"})) == [
        "databases.crm.type: must be one of postgres, duckdb, not 'oracle'"]
    assert _problems(_mapping_text({"type": "postgres", "host": "h", "user": "u", "port": "x"})) == [
        "databases.crm.database: missing: postgres databases need host, database, user",
        "databases.crm.port: must be a port number (e.g. 5432), not 'x'"]
    assert _problems(_mapping_text({"type": "duckdb", "path": "x.duckdb", "host": "h"})) == [
        "databases.crm: host: for PostgreSQL servers only (a DuckDB database is a file: path)"]
    assert _problems(_mapping_text(SERVER, "{database: crn, table: customers}")) == [
        "sources.c.database: unknown database 'crn'; did you mean crm?"]
    assert _problems(_mapping_text(SERVER, "{table: customers}")) == [
        "sources.c.database: missing: name the database (under databases) that holds the table"]
    assert _problems(_mapping_text(SERVER, "{database: crm, path: c.csv}")) == [
        "sources.c.database: applies to table and sql sources only"]


def test_a_duckdb_file_loads_the_same_data_as_the_parquet_files(parquet_world: Path, tmp_path: Path) -> None:
    write_duckdb(parquet_world, tmp_path / "crm.duckdb")
    sources = {"customers": {"database": "local", "table": "customers"},
               "contacts": {"database": "local", "sql": "SELECT * FROM cx.contacts WHERE channel IS NOT NULL"},
               "surveys": {"database": "local", "table": "cx.surveys"}}
    mapping = world_mapping(tmp_path / "duck.yaml", parquet_world,
                            {"local": {"type": "duckdb", "path": "crm.duckdb", "schema": "cx"}}, sources)
    data = load_source(mapping)
    assert_same_data(load_source(parquet_world), data)
    assert data.metadata["databases"] == {"local": f"duckdb:{tmp_path / 'crm.duckdb'}"}
    result = runner.invoke(app, ["validate", str(mapping)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("database", "source", "expected"),
    [
        ({"path": "missing.duckdb"}, {}, "databases.local: DuckDB database file not found: {dir}/missing.duckdb"),
        ({}, {"table": "customerz"},
         ("sources.customers: no table customerz in schema cx of duckdb:{dir}/crm.duckdb; "
          "tables there: contacts, customers, surveys")),
        ({}, {"table": None, "sql": "SELECT * FROM cx.nope"},
         ("sources.customers: SQL query failed on duckdb:{dir}/crm.duckdb: Catalog Error: Table with name nope does "
          "not exist!")),
    ],
)
def test_a_wrong_duckdb_file_or_table_is_one_line_and_exit_code_2(
    parquet_world: Path, tmp_path: Path, database: dict, source: dict, expected: str
) -> None:
    write_duckdb(parquet_world, tmp_path / "crm.duckdb")
    sources = {t: {"database": "local", "table": t} for t in ("customers", "contacts", "surveys")}
    sources["customers"] = {k: v for k, v in {**sources["customers"], **source}.items() if v is not None}
    mapping = world_mapping(tmp_path / "duck.yaml", parquet_world,
                            {"local": {"type": "duckdb", "path": "crm.duckdb", "schema": "cx", **database}}, sources)
    for command in (["validate", str(mapping)], ["run", "--data", str(mapping), "--out", str(tmp_path / "reports")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        lines = result.output.splitlines()
        assert lines[0] == expected.format(dir=tmp_path), lines
        assert lines[1:] == [f"{mapping}: 1 problem(s); nothing was run"]
    assert not (tmp_path / "reports").exists()


def _readme_mappings() -> list[str]:
    """The YAML blocks of the README's "Database sources" section: the PostgreSQL and the DuckDB example."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("### Database sources", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]


def test_the_readme_examples_parse_and_the_duckdb_one_loads(tmp_path: Path) -> None:
    postgres, duck = _readme_mappings()
    assert parse_mapping_text(postgres, tmp_path).databases["warehouse"].password_env == "CX_PG_PASSWORD"
    (tmp_path / "exports").mkdir()
    con = duckdb.connect(str(tmp_path / "exports" / "crm.duckdb"))
    con.execute("CREATE TABLE accounts AS SELECT * FROM (VALUES ('A1', 3, 'active', 20.0, 'retail'), "
                "('A2', 12, 'cancelled', 35.5, 'retail'), ('A3', 1, 'active', 9.9, 'test')) "
                "t(account_id, months_active, status, margin, segment)")
    con.close()
    data = load_mapping(parse_mapping_text(duck, tmp_path))
    assert data.customers["customer_id"].tolist() == ["A1", "A2"]
    assert data.customers["end_date"].notna().tolist() == [False, True]


def test_a_driver_message_is_one_line_without_the_password_or_terminal_colours() -> None:
    err = Exception("invalid dsn: password=Hunter2-Secret host=\x1b[4mdb\x1b[0m\n\tIs the server running?")
    assert clean_message(err, "Hunter2-Secret") == "invalid dsn: password=*** host=db"
