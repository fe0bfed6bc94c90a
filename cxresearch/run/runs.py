"""The reports directory's runs: one run at a time (a file lock), the `latest` link, keeping the newest runs, and
reading a published run back (manifest, results, tables and figures) for ad-hoc follow-up notebooks."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cxresearch.report.results import Results, read_results
from cxresearch.stats.estimate import Estimate

#: A run directory's name: its start time (UTC) and a random suffix, e.g. 20250101-120000-1a2b3c.
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


class SuiteBusyError(RuntimeError):
    """Another run is publishing into the same reports directory."""


@contextlib.contextmanager
def run_lock(out_dir: Path, wait: bool, report: Callable[[str], None]) -> Iterator[None]:
    """Hold `out_dir/.lock` (an advisory file lock, released even if the process dies) for one run."""
    with open(out_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise SuiteBusyError(
                    f"another run is in progress in {out_dir}; try again later or pass --wait to queue"
                ) from None
            report(f"another run is in progress in {out_dir}: waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prune_runs(out_dir: Path, keep: int) -> list[str]:
    """Remove all but the newest `keep` run directories (never the one `latest` points to); return their ids."""
    latest = (out_dir / "latest").resolve() if (out_dir / "latest").is_symlink() else None
    runs = sorted(p for p in out_dir.iterdir() if p.is_dir() and not p.is_symlink() and RUN_ID.fullmatch(p.name))
    removed = []
    for old in runs[: max(0, len(runs) - keep)]:
        if old.resolve() != latest:
            shutil.rmtree(old)
            removed.append(old.name)
    return removed


def previous_results(out_dir: Path, data_source: str) -> str:
    """Results directory of `latest` when it ran on the same data source, else ''."""
    manifest = out_dir / "latest" / "manifest.json"
    try:
        previous = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if previous.get("data_source") != data_source:
        return ""
    return str((out_dir / "latest" / "results").resolve())


def point_latest(out_dir: Path, run_id: str) -> None:
    """Atomically repoint `<out_dir>/latest` at the run (readers never see it missing)."""
    temp_link = out_dir / f".latest-{run_id}"
    temp_link.symlink_to(run_id)  # relative, so the reports directory can be moved or mounted elsewhere
    os.replace(temp_link, out_dir / "latest")


@dataclass
class RunRecord:
    """A published suite run: its manifest and every notebook's results file."""

    run_dir: Path
    manifest: dict[str, Any]
    results: dict[str, Results]

    def estimate(self, notebook: str, key: str) -> Estimate:
        """One reported figure, e.g. `estimate("04_loyalty_metrics", "nps_score")`."""
        return self.results[notebook].estimates[key]

    def estimates(self) -> pd.DataFrame:
        """Every reported figure of the run: notebook, key, value, unit, 95% CI, label, and the figure in words.

        `bound` is "lower" when the true value is more than `value` (a median not reached), `value` is missing
        when the figure is not estimable (`reason` says why); `text` says either in words.
        """
        rows = [
            {"notebook": nb, "key": key, "value": e.value, "unit": e.unit, "ci_low": e.ci_low,
             "ci_high": e.ci_high, "label": e.label, "bound": e.bound, "reason": e.reason, "text": e.format()}
            for nb, res in self.results.items() for key, e in res.estimates.items()
        ]
        return pd.DataFrame(rows)

    def table(self, notebook: str, key: str) -> pd.DataFrame:
        """A table a notebook wrote to its results file."""
        return pd.DataFrame(self.results[notebook].tables[key])

    def figures(self, notebook: str) -> list[bytes]:
        """The PNG images a notebook displayed, in order (show one with `IPython.display.Image(data=...)`)."""
        import nbformat  # imported here: it costs seconds, and `import cxresearch` should not

        executed = nbformat.read(self.run_dir / "notebooks" / f"{notebook}.ipynb", as_version=4)
        return [
            base64.b64decode(output["data"]["image/png"])
            for cell in executed.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
        ]


def load_run(run: str = "latest", reports_dir: str | Path = "reports") -> RunRecord:
    """Load a published run by id (or 'latest') from `reports_dir`, or from a run directory path."""
    candidate = Path(run)
    run_dir = candidate if (candidate / "manifest.json").is_file() else Path(reports_dir) / run
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        available = sorted(p.name for p in Path(reports_dir).glob("*") if (p / "manifest.json").is_file())
        raise FileNotFoundError(f"no run {run!r} in {reports_dir}; available: {', '.join(available) or 'none'}")
    run_dir = run_dir.resolve()
    results = {p.stem: read_results(p) for p in sorted((run_dir / "results").glob("*.json"))}
    return RunRecord(run_dir=run_dir, manifest=json.loads(manifest_path.read_text()), results=results)
