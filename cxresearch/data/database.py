"""Databases a mapping reads sources from: a DuckDB database file (DuckDB itself) or a PostgreSQL server (Ibis).

A mapping's `databases` section names each connection (`type: postgres` with host, port, database, user,
schema; or `type: duckdb` with a file path); a source then reads a `table:` or runs an `sql:` query there.
Secrets never enter the mapping: `password_env` names the environment variable holding the password, a
`password` key (or a connection string, which could hold one) is refused, and every message from a driver is
scrubbed of the password before it becomes a problem line.

Why Ibis (on psycopg) for PostgreSQL: DuckDB's own postgres extension is downloaded from extensions.duckdb.org
at first use, which machines limited to package registries cannot reach; Ibis is already the project's
engine-portable layer (`features.portable`), so the connection that reads a mapping's sources also runs the
feature snapshot on the server; psycopg's binary wheel brings libpq, so nothing but PyPI is needed. Ibis parses
a `sql:` query with sqlglot (PostgreSQL dialect) before sending it, so the rare syntax sqlglot cannot read
belongs in a view on the server instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import duckdb
import pandas as pd

from cxresearch.data.mapping.hints import key_problem
from cxresearch.data.validation.problems import Problem

#: Database kinds a mapping can name, with the spellings accepted for each.
DATABASE_TYPES: dict[str, str] = {"postgres": "postgres", "postgresql": "postgres", "duckdb": "duckdb"}

DATABASE_KEYS = ("type", "path", "host", "port", "database", "user", "schema", "password_env")

#: Keys that would put a secret into the mapping file: refused whatever their value, which is never echoed.
SECRET_KEYS = ("password", "passwd", "pwd", "secret", "token", "dsn", "url", "uri", "connection_string")

#: Keys for a PostgreSQL server, not a DuckDB file.
SERVER_KEYS = ("host", "port", "database", "user", "password_env")

DEFAULT_PORT = 5432

#: Seconds to wait for a server before a connection problem is reported (an unreachable host can hang longer).
CONNECT_TIMEOUT_SECONDS = 10

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: libpq's prefix before the server's own reason; the problem line already says which server.
_LIBPQ_PREFIX = re.compile(r"^(connection failed: )?connection to server at .*?, port \d+ failed: (FATAL: )?")


@dataclass(frozen=True)
class DatabaseSpec:
    """One database a mapping names: where it is and which environment variable holds its password."""

    name: str
    kind: str
    path: Path | None = None
    host: str | None = None
    port: int = DEFAULT_PORT
    database: str | None = None
    user: str | None = None
    schema: str | None = None
    password_env: str | None = None

    def describe(self) -> str:
        """Where the database is, without any secret: `postgres://user@host:port/database` or `duckdb:PATH`."""
        if self.kind == "duckdb":
            return f"duckdb:{self.path}"
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_databases(raw: Any, base_dir: Path, problems: list[Problem]) -> dict[str, DatabaseSpec]:
    """The `databases` section: name -> {type: postgres, host, port, database, user, schema, password_env} or
    {type: duckdb, path, schema}; relative paths are relative to `base_dir`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem("databases", None, 0, [], "must map a name to each database's connection details"))
        return {}
    databases = {}
    for name, spec in raw.items():
        key = f"databases.{name}"
        if not isinstance(spec, dict):
            problems.append(Problem(key, None, 0, [], "must be a mapping with type and connection details"))
            continue
        before = len(problems)
        _check_keys(key, spec, problems)
        kind = DATABASE_TYPES.get(str(spec.get("type", "")).lower())
        if kind is None:
            problems.append(Problem(key, "type", 0, [], f"must be one of postgres, duckdb, not {spec.get('type')!r}"))
            continue
        needed = ("path",) if kind == "duckdb" else ("host", "database", "user")
        for missing in (k for k in needed if spec.get(k) in (None, "")):
            problems.append(Problem(key, missing, 0, [], f"missing: {kind} databases need {', '.join(needed)}"))
        if kind == "duckdb" and any(k in spec for k in SERVER_KEYS):
            problems.append(Problem(key, None, 0, [], f"{', '.join(k for k in SERVER_KEYS if k in spec)}: for "
                                    "PostgreSQL servers only (a DuckDB database is a file: path)"))
        port = _port(key, spec.get("port", DEFAULT_PORT), problems)
        env = spec.get("password_env")
        if env is not None and not (isinstance(env, str) and _ENV_NAME.match(env)):
            problems.append(Problem(key, "password_env", 0, [], "must name an environment variable (letters, "
                                    "digits and _, e.g. CX_PG_PASSWORD), not hold the password"))
        if len(problems) > before:
            continue
        path = None if spec.get("path") is None else Path(str(spec["path"])).expanduser()
        databases[str(name)] = DatabaseSpec(
            name=str(name), kind=kind, path=None if path is None else path if path.is_absolute() else base_dir / path,
            host=_text(spec.get("host")), port=port, database=_text(spec.get("database")),
            user=_text(spec.get("user")), schema=_text(spec.get("schema")), password_env=env,
        )
    return databases


def _check_keys(key: str, spec: dict, problems: list[Problem]) -> None:
    """A problem for each secret key (its value never shown) and each unknown key in a database's section."""
    for k in spec:
        if str(k).lower() in SECRET_KEYS:
            problems.append(Problem(key, str(k), 0, [], "secrets are refused in a mapping (it is shared and "
                                    "recorded with every run): put the password in an environment variable and "
                                    "name it, e.g. password_env: CX_PG_PASSWORD"))
        elif k not in DATABASE_KEYS:
            problems.append(key_problem(key, str(k), "unknown key", DATABASE_KEYS))


def _port(key: str, value: Any, problems: list[Problem]) -> int:
    """A TCP port number (1-65535), or the default with a problem."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        return value
    problems.append(Problem(key, "port", 0, [], f"must be a port number (e.g. {DEFAULT_PORT}), not {value!r}"))
    return DEFAULT_PORT


def _text(value: Any) -> str | None:
    """A YAML scalar as text (ports and names written as numbers too), or None."""
    return None if value is None else str(value)


class Connections:
    """The mapping's databases, each connected once on first use and closed together (a context manager)."""

    def __init__(self, databases: dict[str, DatabaseSpec]) -> None:
        self.databases = databases
        self._open: dict[str, Any] = {}
        self._failed: set[str] = set()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        for name, con in self._open.items():
            if self.databases[name].kind == "duckdb":
                con.close()
            else:
                con.disconnect()
        self._open.clear()

    def get(self, name: str, problems: list[Problem]) -> Any | None:
        """The connection to database `name`, or None; a failed connection is reported once, not per source."""
        if name in self._open or name in self._failed:
            return self._open.get(name)
        con, message = connect(self.databases[name])
        if con is None:
            self._failed.add(name)
            problems.append(Problem(f"databases.{name}", None, 0, [], message))
        else:
            self._open[name] = con
        return con


def connect(spec: DatabaseSpec) -> tuple[Any | None, str]:
    """A read-only DuckDB connection to a database file, or an Ibis backend connected to a PostgreSQL server;
    or (None, one line saying why not)."""
    if spec.kind == "duckdb":
        if not spec.path.is_file():
            return None, f"DuckDB database file not found: {spec.path}"
        try:
            return duckdb.connect(str(spec.path), read_only=True), ""
        except duckdb.Error as err:
            return None, f"cannot open {spec.describe()}: {clean_message(err)}"
    try:
        import ibis
        import psycopg  # noqa: F401  (Ibis's PostgreSQL driver: missing, it fails only at connect)
    except ImportError:
        return None, "reading PostgreSQL needs Ibis and psycopg: pip install 'cxresearch[warehouse]'"
    password = None
    if spec.password_env is not None:
        password = os.environ.get(spec.password_env)
        if not password:
            return None, (f"the environment variable {spec.password_env} (password_env) is not set: export the "
                          f"password for user {spec.user} there before running")
    try:
        con = ibis.postgres.connect(
            host=spec.host, port=spec.port, user=spec.user, password=password, database=spec.database,
            schema=spec.schema, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name="cxresearch",
        )
    except driver_errors() as err:
        reason = _LIBPQ_PREFIX.sub("", clean_message(err, password))
        hint = f" (check the password in {spec.password_env})" if "password authentication" in reason else ""
        return None, f"cannot connect to {spec.describe()}: {reason}{hint}"
    return con, ""


def read_table(con: Any, spec: DatabaseSpec, table: str) -> tuple[pd.DataFrame | None, str]:
    """Table `table` (`name` in the database's schema, or `schema.name`) as pandas, or (None, why not)."""
    schema, _, name = table.rpartition(".")
    schema = schema or spec.schema
    where = f"{'schema ' + schema + ' of ' if schema else ''}{spec.describe()}"
    try:
        if spec.kind == "duckdb":
            tables = [row[0] for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1",
                [schema or "main"]).fetchall()]
        else:
            tables = con.list_tables(database=schema)
        if name not in tables:
            found = f"; tables there: {', '.join(tables[:10])}" if tables else "; no tables there"
            return None, f"no table {name} in {where}{found}"
        if spec.kind == "duckdb":
            return con.sql(f"SELECT * FROM {_quoted(schema or 'main')}.{_quoted(name)}").df(), ""
        return con.table(name, database=schema).to_pyarrow().to_pandas(), ""
    except driver_errors() as err:
        return None, f"table {table} cannot be read from {where}: {clean_message(err)}"


def read_query(con: Any, spec: DatabaseSpec, sql: str) -> tuple[pd.DataFrame | None, str]:
    """The rows of query `sql` run on the database, as pandas, or (None, why not)."""
    try:
        if spec.kind == "duckdb":
            return con.execute(sql).df(), ""
        return con.sql(sql).to_pyarrow().to_pandas(), ""
    except driver_errors() as err:
        return None, f"SQL query failed on {spec.describe()}: {clean_message(err)}"


def _quoted(identifier: str) -> str:
    """A SQL identifier in double quotes (any name, even with spaces or quotes, is read as written)."""
    return '"' + identifier.replace('"', '""') + '"'


def driver_errors() -> tuple[type[Exception], ...]:
    """The exception bases of DuckDB, psycopg, Ibis and sqlglot (those installed), for one-line problems."""
    errors: list[type[Exception]] = [duckdb.Error, OSError]
    try:
        import psycopg

        errors.append(psycopg.Error)
    except ImportError:
        pass
    try:
        from ibis.common.exceptions import IbisError
        from sqlglot.errors import SqlglotError

        errors += [IbisError, SqlglotError]
    except ImportError:
        pass
    return tuple(errors)


def clean_message(err: Exception, secret: str | None = None) -> str:
    """A driver's error as one line: first line only, terminal colours and `secret` (when given) removed."""
    text = _ANSI.sub("", str(err)).strip()
    if secret:
        text = text.replace(secret, "***")
    first = " ".join(text.splitlines()[0].split()) if text else type(err).__name__
    return first if len(first) <= 200 else first[:197] + "..."
