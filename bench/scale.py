"""Time and peak memory of simulate + write, validate (`load_source`) and `features.snapshot` by size.

`--out-of-core` measures the path for bases too large for pandas instead: validate with
`data.out_of_core.validate_out_of_core` and the snapshot with `features.snapshot.snapshot_parquet` (DuckDB over the
Parquet files). Simulation is `write_simulation` in both: above `CHUNK_CUSTOMERS` customers it works in chunks.

Each stage runs in its own child process, so its peak resident memory is that child's `ru_maxrss` (read with
`os.wait4`) and no stage inherits another's memory. Seconds are the stage's own wall time, measured in the
child after its imports; peak memory includes the interpreter and imports. The features stage must first
load the data (the validate stage's figures): its clock and, on Linux, its resident high-water mark
(/proc/self/clear_refs) restart after loading, so its peak is the loaded data plus what the snapshot adds.
The growth exponent is the least-squares slope of log(seconds) or log(peak bytes) against log(customers)
over the sizes run: 1 means linear.

Usage: python bench/scale.py [--sizes 100000,300000,1000000] [--months 36] [--keep DIR] [--out-of-core]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

STAGES: tuple[str, ...] = ("simulate", "validate", "features")
LABELS: dict[str, str] = {
    "simulate": "simulate + write parquet",
    "validate": "load_source (validation)",
    "features": "features.snapshot",
}
LABELS_OUT_OF_CORE: dict[str, str] = {
    "simulate": "write_simulation (chunks above 1M)",
    "validate": "validate_out_of_core (DuckDB)",
    "features": "snapshot_parquet (DuckDB)",
}
GIB = 1024**3
#: Issue 21 targets at 10M customers, out of core: validate + default snapshot.
TARGET_OUT_OF_CORE_SECONDS, TARGET_OUT_OF_CORE_PEAK_GIB = 300.0, 8.0
#: Issue 9 targets at 1M customers: simulate + validate + features.
TARGET_SECONDS, TARGET_PEAK_GIB = 60.0, 4.0


def _stage(stage: str, n: int, months: int, directory: Path, out_of_core: bool = False) -> dict:
    """Run one stage in this process; return its seconds, the resident bytes before it and table sizes."""
    from cxresearch.data.load import load_source
    from cxresearch.data.simulate import write_simulation
    from cxresearch.features.snapshot import snapshot

    before = _status_bytes("VmRSS")
    started = time.perf_counter()
    if stage == "simulate":
        rows = write_simulation(directory, n_customers=n, months=months, seed=0)
    elif out_of_core:
        rows = _out_of_core_stage(stage, directory)
    elif stage == "validate":
        data = load_source(directory)
        rows = {"contacts": len(data.contacts), "surveys": len(data.surveys)}
    else:
        data = load_source(directory)
        # Loading is the previous stage's figure: restart the clock and the high-water mark after it.
        before = _status_bytes("VmRSS")
        peak_reset = _reset_peak()
        started = time.perf_counter()
        rows = {"snapshot": len(snapshot(data))}
        if peak_reset:
            return {"seconds": time.perf_counter() - started, "baseline_bytes": before, "rows": rows,
                    "stage_peak_bytes": _status_bytes("VmHWM")}
    return {"seconds": time.perf_counter() - started, "baseline_bytes": before, "rows": rows}


def _out_of_core_stage(stage: str, directory: Path) -> dict[str, int]:
    """Validate out of core, or the default snapshot over the Parquet files (of the source as validated)."""
    from cxresearch.data.out_of_core import ParquetSource, parquet_rows, validate_out_of_core
    from cxresearch.features.snapshot import snapshot_parquet

    if stage == "validate":
        return validate_out_of_core(directory).rows
    # The validate stage's figures cover validation: the snapshot starts from the source it vouched for.
    until = pd.Timestamp(json.loads((directory / "dataset.json").read_text())["observed_until"])
    source = ParquetSource(directory, directory.name, until, "", parquet_rows(directory), {})
    return {"snapshot": len(snapshot_parquet(source))}


def _status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS: resident now, VmHWM: peak), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> bool:
    """Reset this process's resident high-water mark (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _run_child(stage: str, n: int, months: int, directory: Path, out_of_core: bool) -> dict:
    """Run `stage` in a child process; add its peak resident bytes to its figures."""
    cmd = [sys.executable, __file__, "--child", stage, "--n", str(n), "--months", str(months),
           "--dir", str(directory)] + (["--out-of-core"] if out_of_core else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"stage {stage} at n={n} failed with exit code {proc.returncode}")
    figures = json.loads(out)
    # ru_maxrss (KiB on Linux) covers the whole child; a stage that reset the high-water mark reports its own.
    figures["peak_bytes"] = figures.pop("stage_peak_bytes", usage.ru_maxrss * 1024)
    return figures


def slope(n: list[int], y: list[float]) -> float:
    """Least-squares slope of log(y) on log(n); NaN with fewer than two sizes."""
    if len(n) < 2:
        return float("nan")
    return float(np.polyfit(np.log(n), np.log(y), 1)[0])


def machine() -> str:
    """Cores, RAM, Python and load average of this machine, on one line."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, "
            f"Python {platform.python_version()}, load average {load}")


def main() -> None:
    """Run every stage at every size and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000",
                        help="comma-separated numbers of customers")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--keep", help="write the simulated worlds under this directory and keep them")
    parser.add_argument("--out-of-core", action="store_true",
                        help="validate and snapshot with DuckDB over the Parquet files (bases beyond pandas)")
    parser.add_argument("--child", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # The parent reads these figures from the child's stdout.
        print(json.dumps(_stage(args.child, args.n, args.months, Path(args.dir), args.out_of_core)))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cxscale-"))
    load_before = os.getloadavg()[0]
    figures: dict[int, dict[str, dict]] = {}
    try:
        for n in sizes:
            directory = root / f"n{n}"
            figures[n] = {stage: _run_child(stage, n, args.months, directory, args.out_of_core) for stage in STAGES}
            print(f"{n:,} customers done at 1-min load {os.getloadavg()[0]:.1f}: {json.dumps(figures[n])}", file=sys.stderr,
                  flush=True)
            figures[n]["disk_bytes"] = sum(f.stat().st_size for f in directory.glob("*.parquet"))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print(machine() + f" (1-min load {load_before:.1f} before the run)")
    first = figures[sizes[0]]
    print(f"{args.months} months; seconds are each stage's own wall time; peak = resident GiB of the stage's "
          f"process, imports included ({first['simulate']['baseline_bytes'] / GIB:.2f} GiB before "
          f"simulating); "
          f"features peak includes the loaded data (loaded GiB: resident after load_source)")
    head = f"{'customers':>10}{'contacts':>12}{'surveys':>12}{'parquet MB':>11}"
    for stage in STAGES:
        head += f"{stage + ' s':>14}{'peak GiB':>9}"
    head += f"{'total s':>9}{'max GiB':>9}{'loaded GiB':>11}"
    print(head)
    for n in sizes:
        f = figures[n]
        rows = f["simulate"]["rows"]
        line = f"{n:>10,}{rows['contacts']:>12,}{rows['surveys']:>12,}{f['disk_bytes'] / 1e6:>11.0f}"
        for stage in STAGES:
            line += f"{f[stage]['seconds']:>14.1f}{f[stage]['peak_bytes'] / GIB:>9.2f}"
        total = sum(f[s]["seconds"] for s in STAGES)
        peak = max(f[s]["peak_bytes"] for s in STAGES)
        line += f"{total:>9.1f}{peak / GIB:>9.2f}{f['features']['baseline_bytes'] / GIB:>11.2f}"
        print(line)
    print(f"{'growth exponent (log-log slope over ' + str(len(sizes)) + ' sizes)':<45}{'time':>8}{'peak':>8}")
    for stage in STAGES:
        t = slope(sizes, [figures[n][stage]["seconds"] for n in sizes])
        m = slope(sizes, [figures[n][stage]["peak_bytes"] for n in sizes])
        print(f"{(LABELS_OUT_OF_CORE if args.out_of_core else LABELS)[stage]:<45}{t:>8.2f}{m:>8.2f}")
    largest = figures[sizes[-1]]
    if args.out_of_core:
        seconds = largest["validate"]["seconds"] + largest["features"]["seconds"]
        peak = max(largest[s]["peak_bytes"] for s in ("validate", "features")) / GIB
        print(f"target at 10M customers, validate + snapshot: <= {TARGET_OUT_OF_CORE_SECONDS:.0f} s and <= "
              f"{TARGET_OUT_OF_CORE_PEAK_GIB:.0f} GiB peak; at {sizes[-1]:,}: {seconds:.1f} s, {peak:.2f} GiB")
        return
    total = sum(largest[s]["seconds"] for s in STAGES)
    peak = max(largest[s]["peak_bytes"] for s in STAGES) / GIB
    print(f"target at 1M customers: < {TARGET_SECONDS:.0f} s and < {TARGET_PEAK_GIB:.0f} GiB peak; "
          f"at {sizes[-1]:,}: {total:.1f} s, {peak:.2f} GiB")


if __name__ == "__main__":
    main()
