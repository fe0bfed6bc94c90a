"""Shared design helpers: score bands (NPS groups, effort bands) and the covariate design matrix of the regressions."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cxresearch.errors import NotEstimableError

#: NPS groups by likelihood-to-recommend (0-10): Reichheld (2003), HBR "The one number you need to grow".
NPS_GROUPS: dict[str, tuple[int, int]] = {"detractor": (0, 6), "passive": (7, 8), "promoter": (9, 10)}
#: Effort bands of a CES answer (1-7, 7 = highest effort).
EFFORT_BANDS: dict[str, tuple[int, int]] = {"low effort (1-3)": (1, 3), "neutral (4)": (4, 4), "high effort (5-7)": (5, 7)}
#: Label of customers without a score before the landmark.
NO_SCORE = "no answer"


def band_scores(score: pd.Series, bands: dict[str, tuple[int, int]]) -> pd.Series:
    """Label of the band holding each score; NO_SCORE where missing."""
    out = pd.Series(NO_SCORE, index=score.index, dtype=object)
    for label, (lo, hi) in bands.items():
        out[(score >= lo) & (score <= hi)] = label
    return out


def complete_cases(data: pd.DataFrame, unit: str, notes: list[str]) -> pd.DataFrame:
    """The rows of `data` without a missing value; how many were dropped is added to `notes`.

    Parameters
    ----------
    data : the columns a model uses, one row per `unit`.
    unit : what a row is, in words ("customers", "person-months").
    notes : the model's notes, extended in place.

    Returns
    -------
    pd.DataFrame
        The complete rows, index kept.
    """
    complete = data.dropna()
    if len(complete) < len(data):
        notes.append(f"complete-case analysis: dropped {len(data) - len(complete)} of {len(data)} {unit} with missing "
                     "values")
    return complete


def covariate_design(
    complete: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], notes: list[str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric columns plus `col=level` dummies, constant columns dropped (noted); also each reference level.

    Parameters
    ----------
    complete : complete cases of the model's columns.
    numeric : columns entered as they are (per unit).
    categorical : columns one-hot coded, the most common level as reference.
    notes : the model's notes, extended in place with the constant columns dropped.

    Returns
    -------
    tuple[pd.DataFrame, dict[str, str]]
        The design matrix (float columns; categorical levels as `column=level`) and each categorical's reference
        level.

    Raises
    ------
    ValueError
        When no column varies.
    """
    design = complete[list(numeric)].astype(float)
    reference_levels: dict[str, str] = {}
    for col in categorical:
        values = complete[col].astype(str)
        counts = values.value_counts()
        # most common level as reference: the tightest comparisons and a level every reader recognises
        reference_levels[col] = str(counts.index[0])
        for level in sorted(counts.index[1:]):
            design[f"{col}={level}"] = (values == level).astype(float)
    constant = [c for c in design.columns if design[c].nunique() <= 1]
    if constant:
        notes.append(f"dropped constant columns {constant}")
        design = design.drop(columns=constant)
    if design.shape[1] == 0:
        raise NotEstimableError("no usable covariates left after dropping missing and constant columns",
                                needs="segments")
    return design, reference_levels
