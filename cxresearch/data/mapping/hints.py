"""Message hints for mapping problems: the closest allowed or source names, an error's first line."""

from __future__ import annotations

import difflib

import pandas as pd

from cxresearch.data.validation.problems import Problem, quote_value


def key_problem(
    table: str, column: str | None, message: str, allowed: tuple[str, ...], name: str | None = None
) -> Problem:
    """A problem for an unknown `name` (default: `column`), with the closest allowed names as a hint."""
    name = column if name is None else name
    close = difflib.get_close_matches(str(name), allowed, n=2)
    hint = f"; did you mean {' or '.join(close)}?" if close else f"; allowed: {', '.join(allowed)}"
    return Problem(table, column, 0, [], message + hint)


def near(name: str, df: pd.DataFrame) -> str:
    """A hint naming the source columns closest to `name`."""
    close = difflib.get_close_matches(str(name), [str(c) for c in df.columns], n=3, cutoff=0.5)
    return f"; closest: {', '.join(quote_value(c) for c in close)}" if close else ""


def first_line(err: Exception) -> str:
    """The first line of an exception message, shortened."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."
