"""Reading a published run back: manifest, results, tables and figures, for ad-hoc follow-up notebooks."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cxresearch.report.results import Results, read_results
from cxresearch.stats.estimate import Estimate


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
