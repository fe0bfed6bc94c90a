"""The churn logit's design matrix: centred numerics with missing-value indicators, treatment-coded
categoricals, constant and collinear terms dropped; and the same matrix rebuilt for new customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg

from cxresearch.churn.columns import FEATURE_LABELS

INTERCEPT = "Intercept"


def select_columns(
    snapshot: pd.DataFrame, requested: list[str] | None, default: tuple[str, ...], kind: str, notes: list[str]
) -> list[str]:
    """Columns to use: requested ones must exist; defaults are used only where present.

    Parameters
    ----------
    snapshot
        One row per customer.
    requested
        Columns asked for (all must exist), or None for `default`.
    default
        Default columns, used where present.
    kind
        What the columns are ("feature", "categorical"), for the notes.
    notes
        Sentences about defaults not present are appended here.

    Returns
    -------
    list of str
        The columns to use.
    """
    if requested is not None:
        missing = [c for c in requested if c not in snapshot.columns]
        if missing:
            raise ValueError(f"{kind} column(s) not in snapshot: {missing}")
        return list(requested)
    absent = [c for c in default if c not in snapshot.columns]
    if absent:
        notes.append(f"Default {kind} column(s) not in the data, left out: {', '.join(absent)}.")
    return [c for c in default if c in snapshot.columns]


def logit_design(
    data: pd.DataFrame, features: list[str], categorical: list[str], notes: list[str]
) -> tuple[pd.DataFrame, dict[str, str], dict[str, str], dict[str, float]]:
    """Design matrix (intercept, centred numerics, missing flags, dummies), labels, references, centres.

    Parameters
    ----------
    data
        One row per customer.
    features, categorical
        Numeric and categorical columns.
    notes
        Sentences about what was dropped or flagged are appended here.

    Returns
    -------
    tuple
        The design matrix, term labels, reference levels of the categoricals and centres of the numerics.
    """
    n = len(data)
    columns: dict[str, np.ndarray] = {INTERCEPT: np.ones(n)}
    labels: dict[str, str] = {INTERCEPT: "Intercept (log-odds at feature means, reference levels)"}
    references: dict[str, str] = {}
    centers: dict[str, float] = {}
    for col in features:
        try:
            x = pd.to_numeric(data[col].astype("float64") if data[col].dtype == bool else data[col])
        except (TypeError, ValueError):
            raise ValueError(f"feature {col!r} is not numeric; pass it in `categorical`") from None
        x = x.to_numpy(dtype=float)
        missing = np.isnan(x)
        if missing.all():
            notes.append(f"Dropped {col}: no customer has a value.")
            continue
        center = float(x[~missing].mean())
        # Centring makes the intercept the log-odds at the mean, and gives missing rows the value 0.
        x = np.where(missing, 0.0, x - center)
        label = FEATURE_LABELS.get(col, f"{col} (per unit)")
        if np.ptp(x[~missing]) == 0.0:
            notes.append(f"Dropped {col}: constant ({center:g}) among customers with a value.")
        else:
            columns[col], labels[col], centers[col] = x, label, center
        if missing.any():
            indicator = f"{col}_missing"
            columns[indicator] = missing.astype(float)
            labels[indicator] = f"{label.split(' (')[0]}: missing (vs value at mean)"
            notes.append(
                f"{col}: {missing.sum()} of {n} ({100 * missing.mean():.0f}%) missing; kept with "
                f"missing-indicator coding (filled with the mean {center:.2f}, flagged by {indicator}). "
                f"Its odds ratio is estimated among customers with a value; {indicator} compares those "
                "without one to a customer at the mean."
            )
    for col in categorical:
        values = data[col].astype("object").where(data[col].notna(), "(missing)").astype(str)
        counts = values.value_counts()
        if len(counts) < 2:
            notes.append(f"Dropped {col}: only one level ({counts.index[0]}).")
            continue
        # Most common level as reference; ties broken alphabetically so the choice is deterministic.
        reference = min(counts.index, key=lambda level: (-counts[level], level))
        references[col] = reference
        for level in sorted(counts.index):
            if level != reference:
                term = f"{col}[{level}]"
                columns[term] = (values == level).to_numpy(dtype=float)
                labels[term] = f"{col}: {level} (vs {reference})"
    design = pd.DataFrame(columns, index=data.index)
    constant = [c for c in design.columns if c != INTERCEPT and np.ptp(design[c].to_numpy()) == 0.0]
    for col in constant:
        notes.append(f"Dropped {col}: constant among the modelled customers.")
    design = design.drop(columns=constant)
    design = drop_collinear(design, notes)
    return design, {c: labels[c] for c in design.columns}, references, centers


def drop_collinear(design: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Drop terms that are exact linear combinations of earlier ones (pivoted QR on scaled columns).

    Parameters
    ----------
    design
        Design matrix, one column per term.
    notes
        A sentence per dropped term is appended here.

    Returns
    -------
    pandas.DataFrame
        The design without the collinear terms.
    """
    x = design.to_numpy()
    scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    _, r, pivot = linalg.qr(x / scale, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > diag[0] * 1e-9 * max(x.shape)).sum())
    if rank == x.shape[1]:
        return design
    dropped = [design.columns[i] for i in pivot[rank:]]
    notes.append(
        f"Dropped {', '.join(dropped)}: a linear combination of other terms (not separately estimable)."
    )
    return design.drop(columns=dropped)


def logit_design_like(
    data: pd.DataFrame, terms: list[str], centers: dict[str, float], references: dict[str, str]
) -> np.ndarray:
    """The design matrix of a fitted model's `terms` for new rows (same centring, indicators and dummies).

    Parameters
    ----------
    data
        New rows.
    terms
        The fitted model's terms.
    centers, references
        The fitted design's centres of the numerics and reference levels of the categoricals.

    Returns
    -------
    numpy.ndarray
        Design matrix (rows x terms).
    """
    columns = []
    for term in terms:
        if term == INTERCEPT:
            columns.append(np.ones(len(data)))
        elif term in centers:
            x = pd.to_numeric(data[term].astype(float)).to_numpy()
            columns.append(np.where(np.isnan(x), 0.0, x - centers[term]))
        elif term.endswith("_missing") and term[: -len("_missing")] in data.columns:
            columns.append(data[term[: -len("_missing")]].isna().to_numpy(dtype=float))
        else:
            col, _, level = term.partition("[")
            if col not in references:
                raise ValueError(f"cannot rebuild term {term!r} from the data")
            values = data[col].astype("object").where(data[col].notna(), "(missing)").astype(str)
            columns.append((values == level[:-1]).to_numpy(dtype=float))
    return np.column_stack(columns)

