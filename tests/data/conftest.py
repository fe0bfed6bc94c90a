"""Fixtures for database sources: a simulated world as Parquet, and the same world in a throwaway PostgreSQL."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest
from database_worlds import PG_DATABASE, PG_SCHEMA, PostgresServer, find_binaries, microsecond_world

from cxresearch.data.simulate import simulate, write_world


@pytest.fixture(scope="session")
def parquet_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-customer simulated world (timestamps in microseconds, as databases hold them) as Parquet."""
    base = tmp_path_factory.mktemp("database-world")
    write_world(simulate(n_customers=2000, months=36, seed=0), base / "simulated")
    return microsecond_world(base / "simulated", base / "world")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server, stopped and removed after the session; skips where it cannot start."""
    pytest.importorskip("psycopg", reason="the warehouse extra (psycopg) is not installed")
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no postgres user to run the server as (initdb refuses root)")
    server = PostgresServer.start(binaries)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_world(postgres: PostgresServer, parquet_world: Path) -> PostgresServer:
    """The server, holding `parquet_world`'s tables in database `crm`, schema `cx`."""
    postgres.load_world(parquet_world, PG_DATABASE, PG_SCHEMA)
    return postgres
