"""Flat data (one row per customer) into canonical customers: tenure and churn flag become dates at `as_of`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxresearch.data.mapping.spec import UNITS, ColumnSpec, Mapping
from cxresearch.data.mapping.values import Build
from cxresearch.data.validation.parse import parse_bool
from cxresearch.data.validation.problems import N_EXAMPLES, Problem, quote_value


def churn_period_assumption(period: float | str) -> str:
    """The plain sentence reports print next to lifetime and CLV figures of flat data with this churn period."""
    if period == "all":
        return ("Lifetimes assume the churn flag covers the customers' whole history: the data holds every "
                "customer ever acquired, including those who left long ago.")
    months = "the last month" if period == 1 else f"the last {period:g} months"
    return f"Lifetimes assume the churn flag covers {months} (customers who left earlier are not in the data)."


def _monthly_grid(days: pd.Series, unit: str | None) -> tuple[pd.Series, str]:
    """Tenure given in days or weeks, as days of whole months (rounded), and a note saying how; else as is.

    The churn flag is defined per month, so tenure is counted in whole months: days / 30 when every value is
    a multiple of 30 (an export of months x 30), else days / 30.4375 (an average month), rounded. The same
    customers then get the same lifetimes whether their tenure was written in months, weeks or days.
    """
    if unit not in ("days", "weeks"):
        return days, ""
    present = days.dropna()
    thirty = unit == "days" and (present > 0).any() and bool((present % 30 == 0).all())
    per_month = 30.0 if thirty else UNITS["months"]
    how = "every value is a multiple of 30: months of 30 days" if thirty else "an average month of 30.4375 days"
    note = (f"Tenure in {unit} is counted in whole months, the grid the churn flag is defined on ({how}, "
            "rounded to the nearest month).")
    return (days / per_month).round() * UNITS["months"], note


def align_flat(
    customers: pd.DataFrame, mapping: Mapping, origins: dict[tuple[str, str], ColumnSpec], build: Build
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """Flat columns to canonical customers: signup = as_of - tenure, a churner's end = as_of (see module doc)."""
    as_of = mapping.as_of
    problems = build.problems
    out = customers.copy()
    if "tenure" in out:
        spec = origins[("customers", "tenure")]
        days, note = _monthly_grid(pd.to_numeric(out.pop("tenure"), errors="coerce"), spec.unit)
        if note:
            build.notes.append(note)
        bad = days.isna() | (days < 0)
        if bad.any():
            problems.append(
                Problem(spec.key, None, int(bad.sum()), _examples(out, bad),
                        f"{spec.describe()}: tenure must be a number >= 0")
            )
        end = pd.to_datetime(out["end_date"], errors="coerce") if "end_date" in out else None
        anchor = end.fillna(as_of) if end is not None else pd.Series(as_of, index=out.index)
        # Whole seconds: a unit conversion (weeks -> days) must not leave nanosecond noise in dates.
        out["signup_date"] = anchor - pd.to_timedelta(days.fillna(0), unit="D").dt.round("s")
    if "churned" in out:
        spec = origins[("customers", "churned")]
        raw = out.pop("churned")
        churned, _ = parse_bool(raw)
        bad = churned.isna()
        if bad.any():
            found = [quote_value(str(v)) for v in raw[bad & raw.notna()].drop_duplicates().head(N_EXAMPLES)]
            problems.append(
                Problem(spec.key, None, int(bad.sum()), found or _examples(out, bad),
                        f"{spec.describe()}: churned must be true/false (yes/no, 1/0); map other codes with values")
            )
        out["end_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]").where(
            ~churned.fillna(False).astype(bool), as_of
        )
    observed_from = mapping.observed_from
    if observed_from is None and mapping.churn_period_months not in (None, "all"):
        observed_from = as_of - pd.Timedelta(days=mapping.churn_period_months * UNITS["months"])
    return out, observed_from


def _examples(df: pd.DataFrame, mask: pd.Series) -> list[str]:
    """Example customer ids (or row numbers) where `mask` holds."""
    rows = np.flatnonzero(mask.to_numpy())[:N_EXAMPLES]
    ids = df.get("customer_id")
    return [str(ids.iloc[r]) if ids is not None and pd.notna(ids.iloc[r]) else f"row {r + 1}" for r in rows]
