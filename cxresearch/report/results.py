"""The results contract: each notebook writes its key figures, with units and uncertainty, to a JSON file."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxresearch.stats.estimate import Estimate
from cxresearch.stats.sampling import Sample

SCHEMA_VERSION = 1


@dataclass
class Provenance:
    """Where a results file's data came from, so a figure can be traced to the exact input it rests on.

    `source` is the data source as the notebook was given it (a directory, a mapping file, `ADAPTER:ARGUMENT`);
    `resolved` the same with every path made absolute; `fingerprint` the sha256 prefix of the source's files;
    `name` and `shape` ("events" or "flat") what the loader found; `observed_until` the end of observation
    (ISO date), from which default snapshot dates follow.
    """

    source: str
    resolved: str = ""
    fingerprint: str = ""
    name: str = ""
    shape: str = ""
    observed_until: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Provenance:
        """Read back a recorded provenance, ignoring keys a later version may have added."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in raw.items() if k in names and v is not None})


@dataclass
class Results:
    """The content of `results/<notebook>.json`."""

    notebook: str
    parameters: dict[str, Any]
    data_fingerprint: str
    estimates: dict[str, Estimate] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    approximations: list[dict[str, Any]] = field(default_factory=list)
    #: The data source the figures rest on (None in files written before it was recorded).
    provenance: Provenance | None = None

    def add(self, key: str, estimate: Estimate) -> Estimate:
        """Record an estimate under `key` and return it."""
        self.estimates[key] = estimate
        return estimate

    def add_table(self, key: str, df: pd.DataFrame) -> None:
        """Record a small DataFrame (its index becomes a column) as a list of records."""
        frame = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
        self.tables[key] = frame.to_dict(orient="records")

    def skip(self, analysis: str, reason: str, needs: str = "") -> None:
        """Record that an analysis could not be run on this data, and why.

        `needs` names the missing input in a few plain words ("event dates", "effort scores (CES)", "contact
        records", "more history", "churn reasons", "treatment assignments"); the executive summary groups what was
        skipped by it.
        """
        self.skipped.append({"analysis": analysis, "reason": reason, **({"needs": needs} if needs else {})})

    def approximate(self, analysis: str, sample: Sample) -> None:
        """Record that `analysis` rests on a random sample (nothing is recorded when nothing was left out)."""
        if sample.sampled:
            self.approximations.append(
                {"analysis": analysis, "n_used": sample.n_used, "n_total": sample.n_total, "seed": sample.seed,
                 "unit": sample.unit, "text": sample.describe(analysis)}
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        out = asdict(self)
        out["schema_version"] = SCHEMA_VERSION
        return _jsonable(out)

    def write(self, directory: str | Path) -> Path:
        """Write `<directory>/<notebook>.json` atomically and return its path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.notebook}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False))
        tmp.replace(path)
        return path


def read_results(path: str | Path) -> Results:
    """Load a results file written by `Results.write`.

    Parameters
    ----------
    path
        A results file.

    Returns
    -------
    Results
        Its contents.
    """
    raw = json.loads(Path(path).read_text())
    raw.pop("schema_version", None)
    raw["estimates"] = {k: Estimate(**v) for k, v in raw.get("estimates", {}).items()}
    recorded = raw.get("provenance")
    raw["provenance"] = Provenance.from_dict(recorded) if isinstance(recorded, dict) and recorded.get("source") else None
    return Results(**raw)


def _jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars, timestamps and non-finite floats into JSON-safe values."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, (pd.Timestamp,)):
        return None if pd.isna(obj) else obj.isoformat()
    if obj is pd.NaT or (obj is not None and not isinstance(obj, str) and pd.api.types.is_scalar(obj) and pd.isna(obj)):
        return None
    return obj


