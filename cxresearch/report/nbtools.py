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
from cxresearch.features.cache import SharedTables
from cxresearch.plots import set_theme
from cxresearch.report.results import Provenance, Results
from cxresearch.stats.sampling import Sample


@dataclass
class NotebookContext:
    """What every notebook starts from: the validated data and its (still empty) results file."""

    data: CXData
    results: Results
    results_dir: Path
    #: The suite run's shared tables, to pass to `snapshot(..., cache=...)`; None outside a suite run.
    cache: SharedTables | None = None

    def finish(self) -> Path:
        """Write the results file and return its path."""
        return self.results.write(self.results_dir)


def start(
    notebook: str, data_source: str, results_dir: str, parameters: dict[str, Any], shared_tables: str = ""
) -> NotebookContext:
    """Load and validate the data source (or, in a suite run, its copy validated once for all notebooks: the
    `shared_tables` directory), apply the house plot style and open `<results_dir>/<notebook>.json`.

    Parameters
    ----------
    notebook
        The notebook's name, also its results file's.
    data_source
        The data source as given.
    results_dir
        Where the results file is written.
    parameters
        The notebook's parameters, recorded.
    shared_tables
        A suite run's shared-tables directory ('' outside one).

    Returns
    -------
    NotebookContext
        The data, the results file and the shared tables.
    """
    set_theme()
    pd.set_option("display.precision", 3)
    cache = SharedTables.at(shared_tables)
    data = (cache.data(data_source) if cache is not None else None) or load_source(data_source)
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
        # For the executive page: the sample, how it was drawn and what was counted on the whole base.
        results.extra["customer_sample"] = dict(sample)
        # The whole source is a sample drawn where the events live (`features.portable.sample_source`).
        results.approximate("Every figure", Sample(
            data.customers, int(sample["customers_kept"]), int(sample["customers_total"]), seed=None,
            unit="customers (chosen by a hash of the customer id)",
        ))
    return NotebookContext(data=data, results=results, results_dir=Path(results_dir), cache=cache)


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


def show(fig: plt.Figure | plt.Axes) -> None:
    """Display a figure (or the figure of an Axes) once, since the inline backend would otherwise show it twice,
    and free its memory.
    """
    from IPython.display import display

    fig = fig.figure if isinstance(fig, plt.Axes) else fig
    display(fig)
    plt.close(fig)


@dataclass(frozen=True)
class Markdown:
    """A Markdown sentence to display, its data-derived text already escaped (see `markdown`)."""

    text: str


@dataclass(frozen=True)
class Html:
    """A block of HTML to display, every data-derived text in it already escaped."""

    text: str


#: What a report section shows: sentences, HTML blocks and figures, in order.
Part = Markdown | Html | plt.Figure


def markdown(text: str, *values: Any) -> Markdown:
    """A Markdown sentence; `{}` placeholders are filled with HTML-escaped `values` (data-derived text)."""
    return Markdown(text.format(*(html.escape(str(v)) for v in values)))


def say(text: str, *values: Any) -> None:
    """Display a Markdown sentence; `{}` placeholders are filled with HTML-escaped `values` (data-derived text).
    """
    show_parts([markdown(text, *values)])


def show_parts(parts: list[Part]) -> None:
    """Display a section's parts in order (figures once each, then closed)."""
    from IPython.display import HTML, display
    from IPython.display import Markdown as MarkdownOutput

    for part in parts:
        if isinstance(part, Markdown):
            display(MarkdownOutput(part.text))
        elif isinstance(part, Html):
            display(HTML(part.text))
        else:
            show(part)


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
