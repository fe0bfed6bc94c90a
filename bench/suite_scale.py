"""The whole suite on a large simulated customer base: `cxresearch run` wall time, per notebook, and peak memory.

Simulates the world first (unless `--data` names one), then runs `cxresearch run` with its defaults and prints
the CLI's own timings (validation and shared tables, each notebook) with the largest resident memory of any
process in the run (`ru_maxrss` of the children: the CLI, the workers and their kernels). Also lists what the
notebooks sampled, from the results files (the report says the same).

Above 40M rows (about 2.5M customers) `cxresearch run` checks the base out of core and runs the notebooks on a
stated hash sample of `--sample-customers` (its default, 250,000); the CLI line says how long that took.

Usage: python bench/suite_scale.py [--customers 1000000] [--months 36] [--data DIR] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
#: Issue 9 target for the whole suite at 1,000,000 customers.
TARGET_SECONDS = 600


def main() -> None:
    """Simulate (or reuse) a world, run the suite on it and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--data", type=Path, help="an existing world instead of simulating one")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="cxbench-suite-"))
    try:
        data = args.data
        simulate_seconds = None
        if data is None:
            data = work / "world"
            started = time.perf_counter()
            subprocess.run([str(BIN / "cxresearch"), "simulate", "--customers", str(args.customers), "--months",
                            str(args.months), "--out", str(data)], check=True, stdout=subprocess.DEVNULL)
            simulate_seconds = time.perf_counter() - started
        started = time.perf_counter()
        run = subprocess.run(
            [str(BIN / "cxresearch"), "run", "--data", str(data), "--out", str(work / "reports"), "--jobs",
             str(args.jobs)], cwd=ROOT, capture_output=True, text=True,
        )
        seconds = time.perf_counter() - started
        peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average (1, 5, 15 min) at the start {_loads(load_before)}, at the end {_loads(os.getloadavg())}")
        if simulate_seconds is not None:
            print(f"simulate {args.customers:,} customers x {args.months} months: {simulate_seconds:.1f} s")
        for line in run.stdout.splitlines():
            print(f"  {line}")
        if run.returncode:
            print(run.stderr[-2000:])
        print(f"cxresearch run: exit {run.returncode}, {seconds:.1f} s wall (target <= {TARGET_SECONDS} s), "
              f"largest process peak {peak_gib:.2f} GiB")
        for path in sorted((work / "reports" / "latest" / "results").glob("*.json")):
            for row in json.loads(path.read_text()).get("approximations", []):
                print(f"  sampled in {path.stem}: {row['text']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _loads(loads: tuple[float, float, float]) -> str:
    """Load averages as text, e.g. '1.2, 0.9, 0.8'."""
    return ", ".join(f"{v:.1f}" for v in loads)


if __name__ == "__main__":
    main()
