"""Lifetimes by cause of the end, the input of every competing-risks analysis: duration and entry in months,
the reason of an observed end (None = right-censored), and the covariate design of the regressions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.stats.design import complete_cases, covariate_design
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns


def lifetimes_by_cause(df: pd.DataFrame, columns: LifetimeColumns) -> tuple[pd.DataFrame, list[str]]:
    """Columns duration, entry (0 without `entry`) and cause (None = censored), unusable rows dropped.

    Parameters
    ----------
    df : one row per customer.
    columns : the lifetime's columns. `cause` holds the reason of an observed end (missing = right-censored);
        where the frame has the `event` column, an event without a reason is the cause "unknown" and a reason
        without an event is censored.

    Returns
    -------
    tuple[pd.DataFrame, list[str]]
        The frame (index of `df` kept) and notes on dropped rows.
    """
    out = pd.DataFrame({
        "duration": df[columns.duration].astype(float),
        "entry": df[columns.entry].astype(float) if columns.entry else 0.0,
        "cause": df[columns.cause].astype(object).where(df[columns.cause].notna(), None),
    }, index=df.index)
    if columns.event in df:
        # An observed end without a reason still left: "unknown"; a reason without an end is no event.
        ended = df[columns.event].astype(bool)
        out["cause"] = out["cause"].where(ended, None).where(~ended | out["cause"].notna(), "unknown")
    bad = (out["duration"].isna() | (out["duration"] < 0) | out["entry"].isna() | (out["entry"] < 0)
           | (out["entry"] > out["duration"]) | ((out["entry"] > 0) & (out["entry"] >= out["duration"])))
    notes = []
    if bad.any():
        notes.append(f"dropped {int(bad.sum())} customers with missing or negative duration or entry, or no "
                     "follow-up after entry")
    return out[~bad], notes


@dataclass
class CauseData:
    """Arrays of one competing-risks regression: time and entry (months), status (0 censored, 1 the cause of
    interest, 2 any other cause), covariate matrix `z` with column names `terms`."""

    cause: str
    time: np.ndarray
    entry: np.ndarray
    status: np.ndarray
    z: np.ndarray
    terms: list[str]
    reference_levels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        """Whether anyone enters after signup (left truncation)."""
        return bool((self.entry > 0).any())


def cause_data(
    df: pd.DataFrame,
    of_interest: str,
    covariates: Sequence[str],
    columns: LifetimeColumns = LIFETIMES,
) -> CauseData:
    """Status codes for `of_interest` and the covariate design (categorical columns one-hot coded, the most
    common level as reference), complete cases only.

    Parameters
    ----------
    df : one row per customer.
    of_interest : the cause whose hazard is modelled; every other cause competes.
    covariates : columns entered in the model; non-numeric ones are one-hot coded.
    columns : as in `lifetimes_by_cause`.

    Returns
    -------
    CauseData
        The arrays, with notes on dropped rows and columns.

    Raises
    ------
    ValueError
        When nobody left for `of_interest`.
    """
    frame, notes = lifetimes_by_cause(df, columns)
    if not (frame["cause"] == of_interest).any():
        causes = sorted(frame["cause"].dropna().unique())
        raise ValueError(f"no churn for {of_interest!r} in the data; causes: {', '.join(causes)}")
    columns = df.loc[frame.index, list(covariates)]
    complete = complete_cases(columns, "customers", notes)
    numeric = [c for c in covariates if pd.api.types.is_numeric_dtype(complete[c])]
    categorical = [c for c in covariates if c not in numeric]
    design, reference = covariate_design(complete, numeric, categorical, notes)
    frame = frame.loc[complete.index]
    status = np.where(frame["cause"].isna(), 0, np.where(frame["cause"] == of_interest, 1, 2))
    return CauseData(cause=of_interest, time=frame["duration"].to_numpy(), entry=frame["entry"].to_numpy(),
                     status=status, z=design.to_numpy(), terms=list(design.columns),
                     reference_levels=reference, notes=notes)
