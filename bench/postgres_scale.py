"""A PostgreSQL source against the same world in Parquet files: validation and the default snapshot, by size.

For each size a world is simulated (campaigns left out: a mapping reads the three canonical tables), its
timestamps floored to microseconds (PostgreSQL's resolution), and copied into a throwaway PostgreSQL server
(`tests/data/database_worlds.PostgresServer`: Debian's binaries, run as the `postgres` user when root; COPY,
not timed). Then, each in its own child process (peak = the child's own VmHWM, imports included):

- validate, Parquet: `load_source(directory)` (in memory) and `validate_out_of_core(directory)` (DuckDB);
- validate, PostgreSQL: `load_source(mapping)`, the mapping reading the tables from the server (Ibis/psycopg);
- snapshot, Parquet: `snapshot_parquet` (DuckDB over the files);
- snapshot, PostgreSQL: `features.portable.snapshot_on` on the server (the query runs there; one row a customer
  comes back).

Needs the warehouse extra (`pip install -e '.[warehouse]'`) and the PostgreSQL server binaries.

Usage: python bench/postgres_scale.py [--sizes 300000,1000000] [--months 36]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ibis
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scale import GIB, machine, slope

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))

from database_worlds import (  # a test helper, found through the path above
    PG_DATABASE,
    PG_SCHEMA,
    WORLD_TABLES,
    PostgresServer,
    find_binaries,
    microsecond_world,
    world_mapping,
)

STAGES = ("parquet load_source", "parquet validate_out_of_core", "postgres load_source",
          "parquet snapshot_parquet", "postgres snapshot_on")
PASSWORD_ENV = "CX_BENCH_PG_PASSWORD"
#: Rows per COPY batch when loading the server.
COPY_ROWS = 500_000


def _stage(stage: str, directory: Path, mapping: Path, port: int) -> dict:
    """Run one stage in this process; return its seconds and rows."""
    from cxresearch.data.load import load_source
    from cxresearch.data.out_of_core import validate_out_of_core
    from cxresearch.features.snapshot import snapshot_parquet

    started = time.perf_counter()
    if stage == "prepare":
        from cxresearch.data.simulate import write_simulation

        n, months = (int(x) for x in mapping.name.split("x"))
        write_simulation(directory.with_name("sim"), n_customers=n, months=months, seed=0, campaigns=False)
        microsecond_world(directory.with_name("sim"), directory)
        server = PostgresServer(Path(), Path(), port, os.environ[PASSWORD_ENV])
        started = time.perf_counter()
        _load_server(server, directory)
        rows = n
    elif stage == "parquet load_source":
        rows = len(load_source(directory).contacts)
    elif stage == "parquet validate_out_of_core":
        rows = validate_out_of_core(directory).rows["contacts"]
    elif stage == "postgres load_source":
        rows = len(load_source(mapping).contacts)
    elif stage == "parquet snapshot_parquet":
        rows = len(snapshot_parquet(validate_out_of_core(directory)))
    else:
        import ibis

        from cxresearch.features.portable import snapshot_on

        until = json.loads((directory / "dataset.json").read_text())["observed_until"]
        con = ibis.postgres.connect(host="127.0.0.1", port=port, user="cx_owner", database=PG_DATABASE,
                                    password=os.environ[PASSWORD_ENV])
        tables = {name: con.table(name, database=PG_SCHEMA) for name in WORLD_TABLES}
        started = time.perf_counter()
        rows = len(snapshot_on(con, observed_until=until, tables=tables))
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_bytes": _high_water_bytes()}


def _high_water_bytes() -> int:
    """This process's own peak resident bytes (VmHWM). Not `ru_maxrss`: a child started by vfork and exec keeps
    its parent's high-water mark at the exec in it, which floored every stage at the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise KeyError("VmHWM")


def _child(stage: str, directory: Path, mapping: Path, port: int) -> dict:
    """Run `stage` in a child process; its figures, with the child's own peak resident bytes."""
    cmd = [sys.executable, __file__, "--child", stage, "--dir", str(directory), "--mapping", str(mapping),
           "--port", str(port)]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    if run.returncode:
        raise RuntimeError(f"{stage} failed in {directory}")
    return json.loads(run.stdout)


def _load_server(server: PostgresServer, directory: Path) -> None:
    """Create the database and schema and COPY the world's tables into them (columns typed by Ibis)."""
    con = server.create_schema(PG_DATABASE, PG_SCHEMA)
    for table in WORLD_TABLES:
        parquet = pq.ParquetFile(directory / f"{table}.parquet")
        con.create_table(table, schema=ibis.Schema.from_pyarrow(parquet.schema_arrow), database=PG_SCHEMA)
        columns = ", ".join(f'"{c}"' for c in parquet.schema_arrow.names)
        with con.con.cursor() as cursor, cursor.copy(
                f"COPY {PG_SCHEMA}.{table} ({columns}) FROM STDIN (FORMAT csv, HEADER false)") as copy:
            for batch in parquet.iter_batches(COPY_ROWS):
                buffer = io.BytesIO()
                pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
                copy.write(buffer.getvalue())
        con.con.commit()
    con.disconnect()


def main() -> None:
    """Simulate, load the server, run every stage at every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300000,1000000")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--child", choices=("prepare", *STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--mapping", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_stage(args.child, Path(args.dir), Path(args.mapping), args.port)))
        return
    binaries = find_binaries()
    if binaries is None:
        sys.exit("no PostgreSQL server binaries (apt-get install postgresql)")
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="cxbench-pg-"))
    load_before = os.getloadavg()
    figures: dict[int, dict[str, dict]] = {}
    try:
        for n in sizes:
            directory = root / f"n{n}" / "world"
            directory.parent.mkdir()
            server = PostgresServer.start(binaries)
            try:
                os.environ[PASSWORD_ENV] = server.password
                # In a child like every stage: a child's peak counts its parent's at the fork (Linux keeps the
                # high-water mark across exec), so this process stays small.
                prepared = _child("prepare", directory, Path(f"{n}x{args.months}"), server.port)
                databases = {"crm": {"type": "postgres", "host": "127.0.0.1", "port": server.port,
                                     "database": PG_DATABASE, "user": server.user, "schema": PG_SCHEMA,
                                     "password_env": PASSWORD_ENV}}
                sources = {t: {"database": "crm", "table": t} for t in WORLD_TABLES}
                mapping = world_mapping(root / f"pg{n}.yaml", directory, databases, sources)
                figures[n] = {stage: _child(stage, directory, mapping, server.port) for stage in STAGES}
                figures[n]["copy into the server (not a stage)"] = prepared
            finally:
                server.stop()
            print(f"{n:,} done at load {os.getloadavg()[0]:.1f}: {json.dumps(figures[n])}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{machine()}; load (1, 5, 15 min) before the run {', '.join(f'{x:.1f}' for x in load_before)}")
    print(f"{'stage':<32}" + "".join(f"{f'{n:,} s':>14}{'peak GiB':>10}" for n in sizes) + f"{'exp time':>10}{'exp peak':>10}")
    for stage in STAGES:
        line = f"{stage:<32}" + "".join(
            f"{figures[n][stage]['seconds']:>14.1f}{figures[n][stage]['peak_bytes'] / GIB:>10.2f}" for n in sizes)
        times = slope(sizes, [figures[n][stage]["seconds"] for n in sizes])
        peaks = slope(sizes, [figures[n][stage]["peak_bytes"] for n in sizes])
        print(f"{line}{times:>10.2f}{peaks:>10.2f}")
    print("copy into the server (s): " + ", ".join(
        f"{n:,}: {figures[n]['copy into the server (not a stage)']['seconds']:.1f}" for n in sizes))


if __name__ == "__main__":
    main()
