"""Loyalty metrics broken down: churn rate by score level, a metric by group, by contact channel and by month,
NPS by segment, and the NPS gap between customers who churned and those who stayed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxresearch.loyalty.metrics import (
    NPSComparison,
    NPSResult,
    ces,
    compare_nps,
    csat,
    nps,
    nps_groups,
)
from cxresearch.stats.intervals import wilson_pct


def churn_by_level(
    snapshot: pd.DataFrame,
    column: str,
    bins: int | Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Churn rate (% of active customers churning in the prediction window) by score level, Wilson 95% CIs.

    Uses only customers active at the snapshot's as_of date who have a value in `column`.

    Parameters
    ----------
    snapshot
        Per-customer snapshot with `active`, `churned` and `column`.
    column
        Score column, e.g. ``"nps_last"``, ``"ces_mean_90d"``.
    bins
        Passed to `pandas.cut` (number of equal-width bins or bin edges, lowest edge included). When None:
        columns starting with ``nps`` are grouped detractor (<7) / passive (7 to <9) / promoter (>=9); columns
        with at most 15 distinct whole-number values use each value as a level; anything else uses quintiles.
    labels
        Level labels for `bins`.

    Returns
    -------
    DataFrame indexed by level (in scale order; empty levels omitted) with `n`, `n_churned`, `churn_pct`,
    `ci_low`, `ci_high` (percent).
    """
    for needed in ("active", "churned", column):
        if needed not in snapshot.columns:
            raise ValueError(f"snapshot has no column {needed!r}")
    rows = snapshot.loc[snapshot["active"].eq(True) & snapshot[column].notna(), [column, "churned"]]
    if rows["churned"].isna().any():
        raise ValueError(
            f"column 'churned' is missing for {int(rows['churned'].isna().sum())} active customers"
        )
    values = pd.to_numeric(rows[column])
    churned = rows["churned"].astype(bool)
    if bins is not None:
        level = pd.cut(values, bins=bins, labels=labels, include_lowest=True)
        name = column
    elif column.startswith("nps"):
        level = nps_groups(values)
        name = "nps_group"
    elif np.all(np.mod(values, 1) == 0) and values.nunique() <= 15:
        level = values.astype(int)
        name = column
    else:
        level = pd.qcut(values, q=5, duplicates="drop")
        name = f"{column} (quintile)"
    grouped = churned.groupby(level, observed=True).agg(n="size", n_churned="sum")
    grouped.index.name = name
    grouped["n_churned"] = grouped["n_churned"].astype(int)
    grouped["churn_pct"] = 100.0 * grouped["n_churned"] / grouped["n"]
    cis = [wilson_pct(c, n) for c, n in zip(grouped["n_churned"], grouped["n"], strict=True)]
    grouped["ci_low"] = [c[0] for c in cis]
    grouped["ci_high"] = [c[1] for c in cis]
    return grouped


#: The instruments' summaries, each with a `headline` `Estimate` (NPS points, CSAT % satisfied, CES % high effort).
_METRICS = {"nps": nps, "csat": csat, "ces": ces}


def metric_by(scores: pd.Series, groups: pd.Series, instrument: str, min_n: int = 30) -> pd.DataFrame:
    """Headline metric of `instrument` (its result's `headline`) per group with 95% CI; groups under `min_n` dropped.

    Returns a DataFrame indexed by group (sorted) with `value`, `ci_low`, `ci_high`, `n`, `unit`.

    Parameters
    ----------
    scores
        Answers of one instrument.
    groups
        The group of each answer (aligned by position).
    instrument
        "nps", "csat" or "ces".
    min_n
        Fewest answers a group needs to be shown.

    Returns
    -------
    DataFrame
        Indexed by group (sorted): `value`, `ci_low`, `ci_high`, `n`, `unit`.
    """
    if instrument not in _METRICS:
        raise ValueError(f"instrument must be one of {sorted(_METRICS)}, not {instrument!r}")
    rows = []
    frame = pd.DataFrame({"score": pd.Series(scores).to_numpy(), "group": pd.Series(groups).to_numpy()})
    for level, group in frame.dropna().groupby("group", observed=True, sort=True):
        if len(group) < min_n:
            continue
        result = _METRICS[instrument](group["score"])
        head = result.headline
        rows.append({"group": level, "value": head.value, "ci_low": np.nan if head.ci_low is None else head.ci_low,
                     "ci_high": np.nan if head.ci_high is None else head.ci_high, "n": result.n, "unit": head.unit})
    columns = ["group", "value", "ci_low", "ci_high", "n", "unit"]
    return pd.DataFrame(rows, columns=columns).set_index("group")


def metric_by_channel(
    surveys: pd.DataFrame, contacts: pd.DataFrame, instrument: str, min_n: int = 30
) -> pd.DataFrame:
    """`metric_by` the channel of the contact each survey followed (linked by `contact_id`); unlinked dropped.

    Parameters
    ----------
    surveys
        Survey answers with `instrument`, `score`, `contact_id`.
    contacts
        Contacts with `contact_id` and `channel`.
    instrument
        "nps", "csat" or "ces".
    min_n
        Fewest answers a channel needs to be shown.

    Returns
    -------
    DataFrame
        As `metric_by`, indexed by channel.
    """
    rows = surveys[surveys["instrument"] == instrument]
    # Index only the contacts these surveys link to: indexing tens of millions of contacts costs a minute.
    linked = contacts[contacts["contact_id"].isin(rows["contact_id"].dropna())]
    channel_of = linked.drop_duplicates("contact_id").set_index("contact_id")["channel"]
    return metric_by(rows["score"], rows["contact_id"].map(channel_of), instrument, min_n)


def monthly_trend(surveys: pd.DataFrame, instrument: str, min_n: int = 30) -> pd.DataFrame:
    """Headline metric of `instrument` per calendar month of the response (95% CIs), months under `min_n` dropped.

    The index holds each month's first day (Timestamp), named `month`.

    Parameters
    ----------
    surveys
        Survey answers with `timestamp`, `instrument`, `score`.
    instrument
        "nps", "csat" or "ces".
    min_n
        Fewest answers a month needs to be shown.

    Returns
    -------
    DataFrame
        As `metric_by`, indexed by month start (`month`).
    """
    rows = surveys[surveys["instrument"] == instrument]
    # datetime64[M] truncation: the same month starts as `dt.to_period("M")`, ten times faster on millions of rows
    month = pd.Series(rows["timestamp"].to_numpy().astype("datetime64[M]").astype("datetime64[ns]"), index=rows.index)
    table = metric_by(rows["score"], month, instrument, min_n)
    table.index = pd.DatetimeIndex(table.index, name="month")
    return table


def nps_by_segment(
    surveys: pd.DataFrame, customers: pd.DataFrame, segment: str, min_n: int = 30
) -> dict[str, NPSResult]:
    """NPS (points) of the NPS responses in `surveys` per level of the customers' `segment` column, for levels
    with at least `min_n` responses.

    Parameters
    ----------
    surveys
        Survey answers with `customer_id`, `instrument`, `score`.
    customers
        Customers with `customer_id` and the `segment` column.
    segment
        The customer column to split by.
    min_n
        Fewest NPS answers a level needs to be kept.

    Returns
    -------
    dict of NPSResult
        NPS by level of `segment`.
    """
    answers = surveys[surveys["instrument"] == "nps"]
    level_of = customers.set_index("customer_id")[segment]
    return {str(level): nps(group["score"]) for level, group in answers.groupby(answers["customer_id"].map(level_of))
            if len(group) >= min_n}


def nps_gap_churned(snapshot: pd.DataFrame | None) -> NPSComparison | None:
    """Latest NPS of active customers who went on to churn minus those who stayed (points, `compare_nps`), or
    None when the snapshot has no NPS scores, or either group has none.

    Parameters
    ----------
    snapshot
        Per-customer snapshot (`features.snapshot.snapshot`) with `active`, `churned` and `nps_last`.

    Returns
    -------
    NPSComparison or None
        Churners minus stayers (points), or None without NPS scores in both groups.
    """
    if snapshot is None or "nps_last" not in snapshot or not snapshot["nps_last"].notna().any():
        return None
    active = snapshot[snapshot["active"]]
    churners, stayers = (active.loc[active["churned"] == flag, "nps_last"].dropna() for flag in (True, False))
    return compare_nps(churners, stayers) if len(churners) and len(stayers) else None
