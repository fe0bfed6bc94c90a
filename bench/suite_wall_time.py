"""Wall time of the demo suite: `cxresearch run` vs the obvious alternative (plain papermill + nbconvert, one
notebook after another). Prints a table with the machine's description. Usage: python bench/suite_wall_time.py"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOKS = ["01_data_audit", "02_churn_drivers", "03_customer_lifetime", "04_loyalty_metrics",
             "05_retention_economics", "00_executive_summary"]


def _timed(cmd: list[str], cwd: Path) -> float:
    """Seconds of wall time to run `cmd` (raises if it fails)."""
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    """Run both ways on the demo world and print the figures."""
    data = ROOT / "data" / "demo"
    if not data.exists():
        subprocess.run([BIN / "cxresearch", "simulate", "--out", str(data)], check=True, cwd=ROOT)
    work = Path(tempfile.mkdtemp(prefix="cxbench-"))
    try:
        suite = _timed([str(BIN / "cxresearch"), "run", "--data", str(data), "--out", str(work / "reports")], ROOT)
        started = time.perf_counter()
        results = work / "plain" / "results"
        results.mkdir(parents=True)
        for name in NOTEBOOKS:
            out = work / "plain" / f"{name}.ipynb"
            subprocess.run([str(BIN / "papermill"), "-k", "python3", "--cwd", "notebooks", f"notebooks/{name}.ipynb",
                            str(out), "-p", "data_source", str(data), "-p", "results_dir", str(results)],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", str(out)], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        plain = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'what':<48}{'seconds':>10}")
    print(f"{'cxresearch run (demo, 20k customers, 2 jobs)':<48}{suite:>10.1f}")
    print(f"{'papermill + nbconvert, one after another':<48}{plain:>10.1f}")
    print(f"{'ratio (target <= 0.6)':<48}{suite / plain:>10.2f}")


if __name__ == "__main__":
    main()
