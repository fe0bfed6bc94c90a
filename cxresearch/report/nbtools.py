"""Plumbing shared by the notebooks: open the data, start a results file, show figures and sentences."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from cxresearch.data.load import load_source
from cxresearch.data.schema import CXData
from cxresearch.data.sources import resolve as resolve_source
from cxresearch.features.shared import load_shared
from cxresearch.plots import set_theme
from cxresearch.report.results import Provenance, Results
from cxresearch.stats.sampling import Sample


@dataclass
class NotebookContext:
    """What every notebook starts from: the validated data and its (still empty) results file."""

    data: CXData
    results: Results
    results_dir: Path

    def finish(self) -> Path:
        """Write the results file and return its path."""
        return self.results.write(self.results_dir)


def start(notebook: str, data_source: str, results_dir: str, parameters: dict[str, Any]) -> NotebookContext:
    """Load and validate the data source (or, in a suite run, its copy validated once for all notebooks), apply
    the house plot style and open `<results_dir>/<notebook>.json`."""
    set_theme()
    pd.set_option("display.precision", 3)
    data = load_shared(data_source) or load_source(data_source)
    results = Results(
        notebook=notebook,
        parameters={"data_source": data_source, **parameters},
        data_fingerprint=data.fingerprint,
        provenance=provenance(data, data_source),
    )
    # What every figure rests on, for the executive summary (which reads only results files).
    results.extra["currency"] = data.currency
    results.extra["data_shape"] = data.shape
    results.extra["assumptions"] = list(data.metadata.get("assumptions", []))
    sample = data.metadata.get("customer_sample")
    if sample:
        # The whole source is a sample drawn where the events live (`features.portable.sample_source`).
        results.approximate("Every figure", Sample(
            data.customers, int(sample["customers_kept"]), int(sample["customers_total"]), seed=None,
            unit="customers (chosen by a hash of the customer id)",
        ))
    return NotebookContext(data=data, results=results, results_dir=Path(results_dir))


def provenance(data: CXData, data_source: str) -> Provenance:
    """Where `data` came from: `data_source` as given and resolved, with the fingerprint of the source's files.

    In a suite run `data` is the run's validated copy (`shared_tables`); the copy keeps the name and fingerprint
    of the source it was made from, and `data_source` is the user's source, so the copy never appears here.
    """
    return Provenance(
        source=str(data_source),
        resolved=resolve_source(data_source),
        fingerprint=data.fingerprint,
        name=data.name,
        shape=data.shape,
        observed_until=pd.Timestamp(data.observed_until).date().isoformat(),
    )


def show(fig: plt.Figure) -> None:
    """Display a figure once (the inline backend would otherwise show it twice) and free its memory."""
    from IPython.display import display

    display(fig)
    plt.close(fig)


def say(text: str, *values: Any) -> None:
    """Display a Markdown sentence; `{}` placeholders are filled with HTML-escaped `values` (data-derived text)."""
    from IPython.display import Markdown, display

    display(Markdown(text.format(*(html.escape(str(v)) for v in values))))


def table(df: pd.DataFrame, digits: int = 2) -> None:
    """Display a DataFrame rounded to `digits`, with data-derived text escaped."""
    from IPython.display import HTML, display

    display(HTML(df.round(digits).to_html(escape=True, na_rep="–")))


def read_truth(data_source: str) -> dict | None:
    """The simulator's `truth.json` beside the data, or None for real data (which has no known truth)."""
    path = Path(data_source) / "truth.json"
    return json.loads(path.read_text()) if path.is_file() else None


def has_values(df: pd.DataFrame | None, *columns: str) -> bool:
    """True when `df` exists and has every column with at least one non-missing value (data may lack them)."""
    return df is not None and all(c in df.columns and df[c].notna().any() for c in columns)
