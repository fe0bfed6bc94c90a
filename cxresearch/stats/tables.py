"""What result objects built around one table share: `summary()` is that table."""

from __future__ import annotations

import pandas as pd


class TableSummary:
    """Mixin of a result whose `table` attribute is its summary: one row per group, pair, arm or metric, as the
    class docstring describes."""

    table: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """The result's table (a copy: changing it leaves the result as it was)."""
        return self.table.copy()
