"""Checks of the optional treatments table (campaign assignments of randomised experiments).

Errors make the assignments unusable or wrong: required columns missing or unparseable, customers not in the
customers table, a customer in two arms of one campaign, an assignment after the customer had left (nobody can
be treated after leaving, so the rows are linked to the wrong customer or date) or after the end of
observation, a negative cost, an outcome that is not a number. Warnings leave the data analysable: a campaign
with one arm, or without an arm named `control`, cannot be compared within itself, but its customers and every
other campaign still can, so the experiments notebook skips that campaign and says why.
Assignments before sign-up are allowed: acquisition offers are randomised before customers sign up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxresearch.data.schema import (
    CONTROL_ARM,
    COVARIATE_PREFIX,
    TEXT_DTYPE,
    TREATMENT_COLUMNS,
    treatment_columns,
)
from cxresearch.data.validation.parse import parse_frame
from cxresearch.data.validation.problems import N_EXAMPLES, Problem, near_miss, quote_value, row_problem

TABLE = "treatments"


def check_treatments(
    df: pd.DataFrame, customers: pd.DataFrame | None, observed_until: pd.Timestamp | None = None
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Campaign assignments typed (`schema.treatment_columns`) and checked against the customers.

    Parameters
    ----------
    df : pandas.DataFrame
        The treatments table as read: customer_id, campaign, assigned_at, arm, optional cost, `outcome_*` and
        `covariate_*` columns (other columns are kept as they are).
    customers : pandas.DataFrame or None
        The typed customers table (customer_id, end_date), None when it failed to load.
    observed_until : pandas.Timestamp, optional
        End of observation: later assignments are problems.

    Returns
    -------
    tuple
        The typed table (None when there are problems) and the list of problems (errors only; see
        `treatment_warnings` for what still allows the analysis).
    """
    df = df.reset_index(drop=True)
    problems = [Problem(TABLE, name, 0, [], "missing required column" + near_miss(name, df))
                for name in TREATMENT_COLUMNS if name not in df.columns]
    if problems:
        return None, problems
    logical = {c: t for c, t in treatment_columns(list(df.columns)).items() if t != "any" and c in df.columns}
    typed, problems, _ = parse_frame(df, TABLE, logical)
    typed = _covariates_as_numbers(typed)
    for name in TREATMENT_COLUMNS:
        missing = df[name].isna().to_numpy()
        if missing.any():
            problems.append(row_problem(typed, TABLE, name, missing, "missing value in required column"))
    if "cost" in typed:
        cost = typed["cost"]
        bad = (cost.notna() & ~(np.isfinite(cost) & (cost >= 0))).to_numpy()
        if bad.any():
            problems.append(row_problem(typed, TABLE, "cost", bad, "negative or non-finite cost"))
    twice = typed.duplicated(["customer_id", "campaign"], keep=False).to_numpy() & typed["campaign"].notna().to_numpy()
    if twice.any():
        problems.append(row_problem(typed, TABLE, "customer_id", twice,
                                    "customer assigned more than once in the same campaign"))
    problems += _customer_problems(typed, customers)
    if observed_until is not None and not pd.isna(observed_until):
        late = (typed["assigned_at"] >= pd.Timestamp(observed_until).normalize() + pd.Timedelta(days=1)).to_numpy()
        if late.any():
            problems.append(row_problem(typed, TABLE, "assigned_at", late,
                                        f"assignment after the end of observation ({pd.Timestamp(observed_until).date()})"))
    return (None if problems else typed), problems


def _covariates_as_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """`covariate_*` columns whose every value is a number as floats, the others (labels) as text."""
    out = df.copy()
    for name in [c for c in df.columns if c.startswith(COVARIATE_PREFIX)]:
        values = df[name].astype(object)
        numbers = pd.to_numeric(values, errors="coerce")
        labels = values.where(values.isna(), values.astype(str)).astype(TEXT_DTYPE)
        out[name] = numbers.astype(float) if not (values.notna() & numbers.isna()).any() else labels
    return out


def _customer_problems(typed: pd.DataFrame, customers: pd.DataFrame | None) -> list[Problem]:
    """Assignments of customers not in the customers table, or after the customer's end_date (day allowed)."""
    if customers is None or not {"customer_id", "end_date"} <= set(customers.columns):
        return []
    ends = customers.drop_duplicates("customer_id").set_index("customer_id")["end_date"]
    known = typed["customer_id"].isin(ends.index).to_numpy()
    problems = []
    unknown = typed["customer_id"].notna().to_numpy() & ~known
    if unknown.any():
        problems.append(row_problem(typed, TABLE, "customer_id", unknown, "customer_id not in customers"))
    end = typed["customer_id"].map(ends)
    after = (end.notna() & (typed["assigned_at"] >= end.dt.normalize() + pd.Timedelta(days=1))).to_numpy()
    if after.any():
        problems.append(row_problem(typed, TABLE, "assigned_at", after,
                                    "assignment after the customer's end_date (the customer had left)"))
    return problems


def treatment_warnings(treatments: pd.DataFrame) -> list[Problem]:
    """Campaigns that cannot be compared within themselves: one arm only, or no arm named `control`.

    Parameters
    ----------
    treatments : pandas.DataFrame
        A treatments table that passed `check_treatments`.

    Returns
    -------
    list of Problem
        One per such campaign (n_rows = its assignments, examples = its arms); the data stays usable.
    """
    warnings = []
    for campaign, group in treatments.groupby("campaign", sort=True):
        arms = sorted(group["arm"].unique())
        examples = [quote_value(a) for a in arms[:N_EXAMPLES]]
        if len(arms) == 1:
            message = (f"campaign {quote_value(campaign)} has one arm only ({arms[0]}): no comparison is possible, "
                       "so its effect cannot be estimated")
        elif CONTROL_ARM not in arms:
            message = (f"campaign {quote_value(campaign)} has no arm named {CONTROL_ARM!r}: effects need a "
                       "holdout to compare with; rename the holdout arm to control")
        else:
            continue
        warnings.append(Problem(TABLE, "arm", len(group), examples, message))
    return warnings
