"""Survival data hygiene and risk sets: validated duration/event(/entry) columns split into groups, and the
customers at risk at given times under left truncation (months from signup)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxresearch.survival.columns import LifetimeColumns

#: Label of the single group when no grouping column is given.
ALL = "all"


def split_groups(
    df: pd.DataFrame,
    group: str | None,
    columns: LifetimeColumns,
    min_group_size: int,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Validate duration/event (and entry) columns and split into groups of at least `min_group_size` customers.

    The returned frames keep `duration`, `event` and, if given, the `entry` column (float months).

    Parameters
    ----------
    df : one row per customer.
    group : column to split by (None: one group, `ALL`).
    columns : the lifetime's columns (`LifetimeColumns`: duration in months, event, optional entry in months).
    min_group_size : levels with fewer customers are dropped with a note.

    Returns
    -------
    tuple[dict[str, pd.DataFrame], list[str]]
        Group label -> its customers (levels sorted), and notes on what was dropped.

    Raises
    ------
    KeyError
        When a column is missing.
    ValueError
        When no customer, or no level of `group`, is left.
    """
    extra = [columns.entry] if columns.entry else []
    for col in (columns.duration, columns.event) + ((group,) if group else ()) + tuple(extra):
        if col not in df.columns:
            raise KeyError(f"column {col!r} not in data")
    notes: list[str] = []
    data = df[[columns.duration, columns.event] + extra + ([group] if group else [])].copy()
    bad = data[columns.duration].isna() | data[columns.event].isna() | (data[columns.duration] < 0)
    if bad.any():
        notes.append(f"dropped {int(bad.sum())} customers with missing or negative duration/event")
        data = data[~bad]
    if columns.entry:
        data[columns.entry] = data[columns.entry].astype(float)
        # entry > 0 and entry == duration: no time at risk under the counting-process convention (R rejects it too)
        bad = (
            data[columns.entry].isna()
            | (data[columns.entry] < 0)
            | (data[columns.entry] > data[columns.duration])
            | ((data[columns.entry] > 0) & (data[columns.entry] >= data[columns.duration]))
        )
        if bad.any():
            notes.append(
                f"dropped {int(bad.sum())} customers with missing or negative entry, or no follow-up after entry "
                "(entry after or at duration)"
            )
            data = data[~bad]
    data[columns.event] = data[columns.event].astype(bool)
    if group is None:
        if data.empty:
            raise ValueError("no customers with a valid duration")
        return {ALL: data}, notes
    if data[group].isna().any():
        notes.append(f"dropped {int(data[group].isna().sum())} customers with missing {group!r}")
        data = data[data[group].notna()]
    sizes = data[group].astype(str).value_counts()
    small = sizes[sizes < min_group_size]
    if len(small):
        notes.append(
            f"dropped {group} levels with fewer than {min_group_size} customers: "
            + ", ".join(f"{k} (n={v})" for k, v in small.items())
        )
    keep = sorted(sizes[sizes >= min_group_size].index)
    if not keep:
        raise ValueError(f"no level of {group!r} has at least {min_group_size} customers")
    labels = data[group].astype(str)
    return {k: data[labels == k].drop(columns=group) for k in keep}, notes


def at_risk_counts(
    duration: np.ndarray, entry: np.ndarray, at: np.ndarray, first: float | None = None
) -> np.ndarray:
    """Customers at risk at each time in `at` under left truncation: #{i: entry_i < x <= duration_i}, except that
    customers entering at the earliest entry time `first` (default min(entry); usually 0) are at risk from it on.

    This is lifelines' KaplanMeierFitter risk set (it adds entrants after the deaths at their entry time, except
    in the first period); with all entries 0 it is #{duration_i >= x}.

    Parameters
    ----------
    duration, entry : per customer, months since signup.
    at : times (months) to count at.
    first : the earliest entry time (default min(entry)).

    Returns
    -------
    np.ndarray
        Customers at risk at each time of `at`.
    """
    d, a = np.sort(duration), np.sort(entry)
    first = float(a[0]) if first is None else first
    at = np.asarray(at, dtype=float)
    entered = np.where(at <= first, np.searchsorted(a, at, side="right"), np.searchsorted(a, at, side="left"))
    return entered - np.searchsorted(d, at, side="left")


