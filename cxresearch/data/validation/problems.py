"""What validation reports: one `Problem` per thing wrong, all of them raised together in `DataValidationError`.

Row numbers count data rows from 1 (a CSV header is no row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: How many example ids or row numbers a problem names.
N_EXAMPLES = 3


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data source; `n_rows` is 0 for table-level problems (missing file or column)."""

    table: str
    column: str | None
    n_rows: int
    examples: list[str]
    message: str

    def __str__(self) -> str:
        """One line: `table.column: N rows: message (e.g. id1, id2, id3)`."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        rows = f" {self.n_rows:,} row{'s' if self.n_rows != 1 else ''}:" if self.n_rows else ""
        examples = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return " ".join(f"{where}:{rows} {self.message}{examples}".splitlines())


class DataValidationError(Exception):
    """A data source failed validation; `problems` lists everything found, `str()` gives one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def row_problem(
    df: pd.DataFrame, table: str, column: str, mask: np.ndarray, message: str, quote: bool = False
) -> Problem:
    """A Problem for the rows in `mask`, named by distinct customer id (row number when the id is missing)."""
    positions = np.flatnonzero(mask)
    ids = df["customer_id"].to_numpy()[positions] if "customer_id" in df.columns else [None] * len(positions)
    examples: list[str] = []
    for position, cid in zip(positions, ids, strict=True):
        # Long ids are shortened so a problem stays one readable line.
        if isinstance(cid, str):
            label = quote_value(cid) if quote or len(cid) > 40 else cid
        else:
            label = f"row {position + 1}"
        if label not in examples:
            examples.append(label)
        if len(examples) == N_EXAMPLES:
            break
    return Problem(table, column, len(positions), examples, message)


def quote_value(value: object, width: int = 40) -> str:
    """A short, single-line, quoted rendering of a data value for messages."""
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= width else text[: width - 4] + "...'"


def near_miss(name: str, df: pd.DataFrame) -> str:
    """A hint when the file has the column under a different case or with spaces around it."""
    close = [str(c) for c in df.columns if str(c).strip().lower() == name.lower()]
    return f" (found {quote_value(close[0])}; column names must match exactly)" if close else ""


def has_columns(df: pd.DataFrame | None, *columns: str) -> bool:
    """Whether a table is present and holds all `columns`."""
    return df is not None and all(c in df.columns for c in columns)
