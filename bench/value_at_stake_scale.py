"""Notebook 08's analysis (value at stake of the CX levers) on a large simulated base: wall time and peak memory.

Usage: bench/value_at_stake_scale.py [--customers 1000000] [--data DIR] [--n-boot 200] [--sample 50000]

The world (36 months, reasons and campaigns on, as the demo) is simulated to DIR with `cxresearch simulate` in a
process of its own unless DIR already holds it. Then, in this process: `data.load.load_source` (validation) and
`economics.value_at_stake.value_at_stake` with the notebook's defaults (12-month window, `--n-boot` bootstrap refits
on a simple random sample of `--sample` customers, totals scaled up). Peak memory is this process's ru_maxrss, so
it includes the loaded data.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cxresearch.data.load import load_source
from cxresearch.economics.value_at_stake import value_at_stake


def main() -> None:
    """Simulate (when needed), load and value; print one line per stage."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--sample", type=int, default=50_000)
    args = parser.parse_args()
    directory = args.data or Path(tempfile.mkdtemp(prefix="vas_scale_"))
    if not (directory / "customers.parquet").is_file():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cxresearch.run.cli", "simulate", "--out", str(directory),
                        "--customers", str(args.customers)], check=True, capture_output=True)
        print(f"simulate {args.customers:,} customers to {directory}: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    data = load_source(directory)
    loaded = time.perf_counter()
    result = value_at_stake(data, n_boot=args.n_boot, max_model_customers=args.sample, seed=0)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    joint = result.to_estimates()["bad_service_cost_annual"]
    print(f"load_source {loaded - start:.1f} s; value_at_stake ({result.sample.n_used:,} of {result.sample.n_total:,} customers, {result.n_boot} "
          f"refits, basis {result.basis}) {done - loaded:.1f} s; peak {peak:.2f} GiB")
    print(f"bad service cost a year: {joint.format(0)}")


if __name__ == "__main__":
    main()
