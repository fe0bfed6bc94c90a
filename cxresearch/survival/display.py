"""How survival result objects show themselves in a notebook: their summary table as HTML, with notes."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd


def summary_html(table: pd.DataFrame, title: str = "", notes: Sequence[str] = (), digits: int = 3) -> str:
    """`table` rounded to `digits` as an HTML table (text escaped), under a bold `title`, notes in italics below.

    Parameters
    ----------
    table : a result's `summary()`.
    title : one line above the table ("" for none).
    notes : sentences shown below the table (data hygiene, samples).
    digits : decimals of the numbers shown (the result keeps full precision).

    Returns
    -------
    str
        HTML for `_repr_html_`.
    """
    head = f"<p><b>{html.escape(title)}</b></p>" if title else ""
    tail = "".join(f"<p><i>{html.escape(n)}</i></p>" for n in notes)
    return head + table.round(digits).to_html(escape=True, na_rep="–") + tail


def sentences_html(sentences: list[str]) -> str:
    """Sentences as HTML paragraphs, text escaped."""
    return "".join(f"<p>{html.escape(s)}</p>" for s in sentences)
