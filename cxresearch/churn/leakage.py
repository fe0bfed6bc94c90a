"""The leakage screen: columns that on their own nearly equal the churn outcome (recorded after the decision to
leave), found once per snapshot and left out of every churn model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from cxresearch.churn.columns import DEFAULT_CATEGORICAL, DEFAULT_FEATURES, FLAT_FEATURES, feature_label

#: A single feature whose ROC-AUC for churn exceeds this is treated as leaking the target.
LEAKAGE_AUC = 0.95


def single_feature_auc(data: pd.DataFrame, columns: list[str], churned: np.ndarray) -> pd.DataFrame:
    """ROC-AUC (0.5-1, direction-free) of each column alone for churn: its values, and whether it is missing.

    Numeric values are scored among customers with a value; categoricals by their level's churn share. A
    feature that alone separates churners almost perfectly is more likely a record of the outcome (an end
    date, a "cancelled" status) than a driver.

    Parameters
    ----------
    data
        Active customers.
    columns
        Columns to score.
    churned
        Outcome (0/1), one per row of `data`.

    Returns
    -------
    pandas.DataFrame
        Per column: ROC-AUC of its values and of its missingness.
    """
    rows = []
    for col in columns:
        values = data[col]
        present = values.notna().to_numpy()
        auc_value = auc_missing = np.nan
        if pd.api.types.is_numeric_dtype(values) or values.dtype == bool:
            score = values.astype(float).to_numpy()[present]
        else:
            score = pd.Series(churned).groupby(values.astype(str).to_numpy()).transform("mean").to_numpy()[present]
        y = churned[present]
        if 0 < y.sum() < len(y) and np.ptp(score) > 0:
            auc = roc_auc_score(y, score)
            auc_value = max(auc, 1.0 - auc)
        if 0 < present.sum() < len(present):
            auc = roc_auc_score(churned, present)
            auc_missing = max(auc, 1.0 - auc)
        rows.append({"feature": col, "auc_value": auc_value, "auc_missing": auc_missing,
                     "auc": np.nanmax([auc_value, auc_missing, 0.5])})
    return pd.DataFrame(rows, columns=["feature", "auc_value", "auc_missing", "auc"]).set_index("feature")


#: Columns the leakage screen looks at when none are named: every model column and every per-customer score.
SCREENED_COLUMNS: tuple[str, ...] = (
    *DEFAULT_FEATURES, *FLAT_FEATURES, "csat_mean_90d", "nps_mean_90d", "monthly_margin", "n_referrals",
    *DEFAULT_CATEGORICAL,
)


@dataclass(frozen=True)
class LeakingColumn:
    """A column that on its own nearly equals the churn outcome: its name, readable label, ROC-AUC (0.5-1), why."""

    column: str
    label: str
    auc: float
    why: str

    def to_dict(self) -> dict[str, object]:
        """For `results.extra["leaking_columns"]`: "column" (the readable name reports print), "key" (the snapshot
        column), "why" and "auc"."""
        return {"column": self.label, "key": self.column, "why": self.why, "auc": round(self.auc, 3)}


@dataclass(frozen=True)
class LeakageScreen:
    """Single-column ROC-AUCs for churn and the columns above the threshold, to leave out of every churn model.

    Computed once per snapshot (`screen_leakage`) and passed on, so that what one analysis finds leaking no
    other analysis (relative weights, cross-validation, importance, partial dependence, claims) uses.
    """

    table: pd.DataFrame
    threshold: float
    leaking: tuple[LeakingColumn, ...]

    @property
    def columns(self) -> list[str]:
        """Names of the leaking columns."""
        return [c.column for c in self.leaking]

    def keep(self, columns: Sequence[str]) -> list[str]:
        """`columns` without the leaking ones, in order."""
        return [c for c in columns if c not in self.columns]

    def to_records(self) -> list[dict[str, object]]:
        """The leaking columns as plain records (for `results.extra["leaking_columns"]`)."""
        return [c.to_dict() for c in self.leaking]

    def finding(self) -> str | None:
        """The sentence that leads the findings when something leaks (None when nothing does)."""
        if not self.leaking:
            return None
        parts = [f"{c.label} nearly equals the churn outcome (ROC-AUC {c.auc:.2f} on its own)" for c in self.leaking]
        verb = "it was" if len(parts) == 1 else "they were"
        return (f"{'; '.join(parts)}: {verb} most likely recorded after customers decided to leave, so "
                f"{'it is' if len(parts) == 1 else 'they are'} left out of every churn model.")


def screen_leakage(
    snapshot: pd.DataFrame, columns: Sequence[str] | None = None, threshold: float = LEAKAGE_AUC
) -> LeakageScreen:
    """Flag columns that alone separate churners from stayers with ROC-AUC above `threshold` (0.5-1).

    Uses customers active at the snapshot's `as_of`; `columns` default to `SCREENED_COLUMNS` present with a
    value. On flat data (one row per customer, features and churn flag recorded together) a score given
    after the decision to leave is the typical case (IBM Telco's Satisfaction Score).

    Parameters
    ----------
    snapshot
        One row per customer with `active` and `churned`.
    columns
        Columns to screen; default `SCREENED_COLUMNS` present.
    threshold
        ROC-AUC (0.5-1) above which a column counts as leaking.

    Returns
    -------
    LeakageScreen
        The per-column table and the leaking columns.
    """
    data = snapshot.loc[snapshot["active"].eq(True)]
    candidates = columns if columns is not None else SCREENED_COLUMNS
    present = [c for c in dict.fromkeys(candidates) if c in data and data[c].notna().any()]
    churned = data["churned"].astype(bool).to_numpy()
    if not 0 < churned.sum() < len(churned):
        return LeakageScreen(single_feature_auc(data, [], churned), threshold, ())
    table = single_feature_auc(data, present, churned)
    leaking = []
    for col in table.index[table["auc"] > threshold]:
        how = "its value" if table.loc[col, "auc_value"] >= np.nan_to_num(table.loc[col, "auc_missing"]) else \
            "whether it is missing"
        leaking.append(LeakingColumn(
            col, feature_label(col), float(table.loc[col, "auc"]),
            f"{how} alone separates churners from stayers (ROC-AUC {table.loc[col, 'auc']:.3f} > {threshold:g}): "
            "it records the outcome (given after the decision to leave) rather than predicting it",
        ))
    return LeakageScreen(table, threshold, tuple(leaking))

