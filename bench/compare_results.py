"""Compare the results files of two suite runs: `python bench/compare_results.py BEFORE AFTER`.

BEFORE and AFTER are run directories (`<out>/<run-id>/`) or the `--out` directories holding one run each.
Every `results/*.json` is compared key by key, apart from what records the run rather than the analysis:
package and library versions, paths, timestamps, run ids and durations (`IGNORED`). Prints each differing key
path with both values and
exits 1 when anything differs, 0 when the runs agree.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

#: Keys (at any depth) whose values describe the run, not the analysis.
IGNORED = re.compile(
    r"(^|_)(version|versions|path|paths|dir|directory|created|timestamp|started|finished|duration|elapsed|"
    r"run_id|seconds|wall_time|generated|written|modified)($|_)"
)


def run_dir(path: Path) -> Path:
    """The run directory: `path` if it has results/, else its one run with results/ (not `latest`)."""
    if (path / "results").is_dir():
        return path
    runs = sorted(
        p for p in path.iterdir() if (p / "results").is_dir() and p.name != "latest" and not p.is_symlink()
    )
    if len(runs) != 1:
        raise SystemExit(f"{path}: expected one run with a results/ directory, found {len(runs)}")
    return runs[0]


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Key paths where `a` and `b` differ (NaN equals NaN), skipping ignored keys."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if IGNORED.search(str(key)) and key != "schema_version":
                continue
            if key not in a or key not in b:
                out.append(f"{where}/{key}: only in {'after' if key not in a else 'before'}")
            else:
                out += differences(a[key], b[key], f"{where}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items before, {len(b)} after"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    same = a == b or (
        isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    )
    return [] if same else [f"{where}: {a!r} before, {b!r} after"]


def compare(before: Path, after: Path) -> list[str]:
    before, after = run_dir(before) / "results", run_dir(after) / "results"
    names = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    out = []
    for name in names:
        if not (before / name).is_file() or not (after / name).is_file():
            out.append(f"{name}: only in {'after' if not (before / name).is_file() else 'before'}")
            continue
        a = json.loads((before / name).read_text(encoding="utf-8"))
        b = json.loads((after / name).read_text(encoding="utf-8"))
        out += [f"{name}{d}" for d in differences(a, b)]
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    diffs = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    files = len(list((run_dir(Path(sys.argv[1])) / "results").glob("*.json")))
    print("\n".join(diffs) if diffs else f"identical: {files} results files (versions, paths, times aside)")
    sys.exit(1 if diffs else 0)
