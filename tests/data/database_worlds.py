"""Worlds in databases for the database-source tests: a throwaway PostgreSQL server (the Debian `postgresql`
binaries, a temporary directory, a free port, password (scram-sha-256) authentication), a simulated world copied
into it or into a DuckDB file, and the mapping that reads it back in canonical columns.

`initdb` refuses to run as root, so as root the server runs as the `postgres` system user (the data directory
is owned by it). `find_binaries` is None where the binaries are absent; the fixtures then skip with a reason.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from cxresearch.data.schema import TABLES, CXData

#: Where Debian's `postgresql` package puts the server binaries (one directory per major version).
DEBIAN_BINARIES = Path("/usr/lib/postgresql")

#: The canonical tables a simulated world holds.
WORLD_TABLES = TABLES

#: The PostgreSQL database and schema the world is loaded into.
PG_DATABASE, PG_SCHEMA = "crm", "cx"

#: Columns that order each table the same way whatever order a database returns its rows in.
ROW_KEYS = {"customers": ["customer_id"], "contacts": ["contact_id"], "surveys": ["customer_id", "timestamp", "instrument"]}


def find_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl (newest Debian version first, then PATH), or None."""
    candidates = sorted(DEBIAN_BINARIES.glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    which = shutil.which("pg_ctl")
    candidates += [Path(which).resolve().parent] if which else []
    return next((d for d in candidates if (d / "initdb").is_file() and (d / "pg_ctl").is_file()), None)


def _free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server: connect as `user` with `password` to `database` on 127.0.0.1:`port`."""

    binaries: Path
    root: Path
    port: int
    password: str
    user: str = "cx_owner"
    database: str = "postgres"

    @classmethod
    def start(cls, binaries: Path) -> PostgresServer:
        """initdb a new cluster in a temporary directory and start it; the password is random and distinctive."""
        root = Path(tempfile.mkdtemp(prefix="cx-pg-"))
        server = cls(binaries, root, _free_port(), f"Pw-{secrets.token_hex(12)}-Secret")
        (root / "pwfile").write_text(server.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(root / "pwfile", "postgres")
        server._as_owner("initdb", "-D", str(root / "data"), "-U", server.user, "--pwfile", str(root / "pwfile"),
                         "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync")
        (root / "pwfile").unlink()
        options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c log_connections=on"
        server._as_owner("pg_ctl", "-D", str(root / "data"), "-o", options, "-l", str(root / "server.log"),
                         "-w", "-t", "60", "start")
        return server

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        try:
            self._as_owner("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def sessions(self, application: str = "cxresearch") -> int:
        """How many sessions `application` has opened on the server so far (it logs each one)."""
        return (self.root / "server.log").read_text().count(f"application_name={application}")

    def _as_owner(self, program: str, *args: str) -> None:
        """Run a server binary, as the `postgres` user when we are root (initdb refuses root)."""
        command = [str(self.binaries / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def connect(self, database: str | None = None) -> Any:
        """An Ibis connection as the owner."""
        import ibis

        return ibis.postgres.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                     database=database or self.database)

    def create_schema(self, database: str, schema: str) -> Any:
        """Create `database` holding `schema`; an Ibis connection to it, as the owner."""
        admin = self.connect()
        admin.raw_sql(f"CREATE DATABASE {database}")
        admin.disconnect()
        con = self.connect(database)
        con.raw_sql(f"CREATE SCHEMA {schema}")
        return con

    def load_world(self, directory: Path, database: str, schema: str) -> None:
        """Create `database` with `schema` and copy a canonical Parquet directory's tables into it."""
        con = self.create_schema(database, schema)
        for table in WORLD_TABLES:
            con.create_table(table, pd.read_parquet(directory / f"{table}.parquet"), database=schema)
        con.disconnect()


def microsecond_world(source: Path, out: Path) -> Path:
    """A copy of a canonical Parquet directory with timestamps floored to microseconds, the resolution of
    PostgreSQL's `timestamp` (the simulator draws nanoseconds), so the database and the files hold the same values."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "dataset.json", out / "dataset.json")
    for table in WORLD_TABLES:
        frame = pd.read_parquet(source / f"{table}.parquet")
        for column in frame.columns:
            if pd.api.types.is_datetime64_dtype(frame[column].dtype):
                frame[column] = frame[column].dt.floor("us")
        frame.to_parquet(out / f"{table}.parquet", index=False)
    return out


def write_duckdb(directory: Path, path: Path) -> Path:
    """A DuckDB database file holding a canonical Parquet directory's tables in schema `cx`."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA cx")
    for table in WORLD_TABLES:
        con.execute(f"CREATE TABLE cx.{table} AS SELECT * FROM read_parquet(?)", [str(directory / f"{table}.parquet")])
    con.close()
    return path


def world_mapping(path: Path, directory: Path, databases: dict, sources: dict) -> Path:
    """Write a mapping reading a canonical world from `sources` (one per table, named as the table) in
    canonical columns, with the world's dates; `databases` is the mapping's section as a dict."""
    dataset = yaml.safe_load((directory / "dataset.json").read_text())
    doc = {"name": dataset["name"], "shape": "events", "as_of": dataset["observed_until"],
           "observed_from": dataset["observed_from"], "databases": databases, "sources": sources}
    for table in WORLD_TABLES:
        columns = pd.read_parquet(directory / f"{table}.parquet").columns
        doc[table] = {"from": table, "columns": {c: c for c in columns}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def assert_same_data(expected: CXData, got: CXData) -> None:
    """The same tables (rows in key order, same dtypes), end of observation and shape."""
    assert (got.observed_until, got.shape) == (expected.observed_until, expected.shape)
    for table in WORLD_TABLES:
        ordered = [getattr(d, table).sort_values(ROW_KEYS[table]).reset_index(drop=True) for d in (expected, got)]
        pd.testing.assert_frame_equal(ordered[0], ordered[1][ordered[0].columns])
