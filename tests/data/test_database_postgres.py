"""PostgreSQL sources against a throwaway server (fixtures in conftest.py): the same data and results as the
same world in Parquet files, one clear line and exit code 2 for each wrong connection detail, and the password
in no output."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from database_worlds import PG_DATABASE, PG_SCHEMA, PostgresServer, assert_same_data, world_mapping
from typer.testing import CliRunner

from cxresearch.data.load import load_source
from cxresearch.features.snapshot import snapshot
from cxresearch.run.cli import app

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "CX_TEST_PG_PASSWORD"
runner = CliRunner()


def _mapping(path: Path, server: PostgresServer, world: Path, customers: str = "customers", **database: object) -> Path:
    """A mapping reading the world from the server (a table, a query and a schema-qualified table)."""
    databases = {"crm": {"type": "postgres", "host": "127.0.0.1", "port": server.port, "database": PG_DATABASE,
                         "user": server.user, "schema": PG_SCHEMA, "password_env": PASSWORD_ENV, **database}}
    sources = {"customers": {"database": "crm", "table": customers},
               "contacts": {"database": "crm", "sql": "SELECT * FROM contacts WHERE channel IS NOT NULL"},
               "surveys": {"database": "crm", "table": f"{PG_SCHEMA}.surveys"}}
    return world_mapping(path, world, databases, sources)


def test_a_postgres_source_loads_the_same_data_and_features_as_parquet(
    pg_world: PostgresServer, parquet_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, pg_world.password)
    mapping = _mapping(tmp_path / "pg.yaml", pg_world, parquet_world)
    expected, data = load_source(parquet_world), load_source(mapping)
    assert len(data.customers) == 2000
    assert_same_data(expected, data)
    assert data.metadata["databases"] == {"crm": f"postgres://{pg_world.user}@127.0.0.1:{pg_world.port}/crm"}
    features = [snapshot(d).sort_values("customer_id").reset_index(drop=True) for d in (expected, data)]
    assert features[0].equals(features[1])


def test_the_ibis_snapshot_and_hash_sample_run_on_the_server(
    pg_world: PostgresServer, parquet_world: Path, tmp_path: Path
) -> None:
    from cxresearch.features.portable import sample_source, snapshot_on

    expected = load_source(parquet_world)
    con = pg_world.connect(PG_DATABASE)
    tables = {name: con.table(name, database=PG_SCHEMA) for name in ("customers", "contacts", "surveys")}
    got = snapshot_on(con, "2025-06-01", observed_until=expected.observed_until, tables=tables)
    want = snapshot(expected, as_of="2025-06-01").sort_values("customer_id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns) and len(got) == len(want) > 1000
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=False, rtol=1e-12, check_dtype=False)
    sampled = load_source(sample_source(con, tmp_path / "sample", observed_until=expected.observed_until,
                                        fraction=0.25, tables=tables))
    kept = set(sampled.customers["customer_id"])
    assert 0.2 < len(kept) / len(expected.customers) < 0.3
    # whole histories: every contact of a kept customer comes along
    assert len(sampled.contacts) == expected.contacts["customer_id"].isin(kept).sum()
    con.disconnect()


WRONG = {
    "host": ({"host": "nohost.invalid"}, "customers", "cannot connect to postgres://cx_owner@nohost.invalid:"),
    "database": ({"database": "nodb"}, "customers", 'database "nodb" does not exist'),
    "user": ({"user": "nobody"}, "customers",
             f'password authentication failed for user "nobody" (check the password in {PASSWORD_ENV})'),
    "table": ({}, "customerz", "sources.customers: no table customerz in schema cx of postgres://cx_owner@"),
    "password": ({}, "customers",
                 f'password authentication failed for user "cx_owner" (check the password in {PASSWORD_ENV})'),
    "unset password": ({}, "customers",
                       f"databases.crm: the environment variable {PASSWORD_ENV} (password_env) is not set"),
}


@pytest.mark.parametrize("wrong", list(WRONG))
def test_a_wrong_connection_detail_is_one_line_and_exit_code_2(
    pg_world: PostgresServer, parquet_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrong: str
) -> None:
    database, customers, expected = WRONG[wrong]
    mapping = _mapping(tmp_path / "pg.yaml", pg_world, parquet_world, customers, **database)
    given = {"password": "Wrong-7f3c9e-Password", "unset password": None}.get(wrong, pg_world.password)
    if given is None:
        monkeypatch.delenv(PASSWORD_ENV, raising=False)
    else:
        monkeypatch.setenv(PASSWORD_ENV, given)
    for command in (["validate", str(mapping)], ["run", "--data", str(mapping), "--out", str(tmp_path / "reports")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        problem, summary = result.output.splitlines()
        assert expected in problem and problem.startswith(("databases.crm: ", "sources.customers: ")), problem
        assert summary == f"{mapping}: 1 problem(s); nothing was run"
        assert pg_world.password not in result.output and "Wrong-7f3c9e" not in result.output
    assert not (tmp_path / "reports").exists()


def _compare_results() -> object:
    """bench/compare_results.py as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("compare_results", ROOT / "bench" / "compare_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_suite_run_on_postgres_equals_parquet_and_writes_the_password_nowhere(
    pg_world: PostgresServer, parquet_world: Path, tmp_path: Path
) -> None:
    mapping = _mapping(tmp_path / "pg.yaml", pg_world, parquet_world)
    env = {**os.environ, PASSWORD_ENV: pg_world.password}
    outputs = []
    for name, data in (("pg", mapping), ("parquet", parquet_world)):
        suite = {"name": name, "data": str(data), "notebooks": ["01_data_audit", "02_churn_drivers"],
                 "notebooks_dir": str(ROOT / "notebooks")}
        (tmp_path / f"suite-{name}.yaml").write_text(yaml.safe_dump(suite))
        for command in (["validate", str(data)], ["run", "--suite", str(tmp_path / f"suite-{name}.yaml"), "--out",
                                                   str(tmp_path / "reports")]):
            sessions = pg_world.sessions()
            done = subprocess.run([sys.executable, "-m", "cxresearch.run.cli", *command], cwd=tmp_path, env=env,
                                  check=False, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, done.stdout + done.stderr
            outputs.append(done.stdout + done.stderr)
            # One session per command: a suite run reads the database once and the notebooks share its copy.
            assert pg_world.sessions() - sessions == (name == "pg")

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 20
    leaked = [str(p) for p in written if pg_world.password.encode() in p.read_bytes()]
    assert leaked == [] and not any(pg_world.password in text for text in outputs)
    run_pg, run_parquet = (tmp_path / "reports" / name / "latest" for name in ("pg", "parquet"))
    assert (run_pg / "html" / "00_executive_summary.html").is_file()
    assert sorted(p.name for p in (run_pg / "results").glob("*.json")) == ["01_data_audit.json", "02_churn_drivers.json"]
    # Only what names the source differs: its path and fingerprint (the mapping's text is part of it).
    differ = _compare_results().compare(run_parquet, run_pg)
    assert differ and [d for d in differ if not re.search(r"/(data_fingerprint|fingerprint|data_source|resolved|"
                                                          r"source): ", d)] == []
