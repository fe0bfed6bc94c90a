"""The data the claim tests run on: pooled monthly snapshots, a flat cross-section, person-months with the latest
CSAT, referrals per customer; and the checks of whether a claim's score is there, varies or leaks.

Parameters shared by the claim tests (`claims`, `driver_claims`):

- `panel`: pooled monthly snapshots of active customers (`stacked_snapshots`); empty when none could be built.
- `flat`: one row per customer with the latest scores and the churn flag (`cross_section` or a flat snapshot);
  None when absent.
- `margin`: equivalence margin of a ratio: 1/margin to margin counts as no effect.
- `leaking`: columns recorded after the churn decision (`churn.screen_leakage`); claims resting on them say so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxresearch.churn.logit import ChurnLogitResult
from cxresearch.data.schema import CXData
from cxresearch.features.snapshot import default_as_of, snapshot
from cxresearch.loyalty.evidence import MIN_EVENTS, LogNormalInterval
from cxresearch.stats.units import DAYS_PER_MONTH
from cxresearch.survival.person_months import person_months


def stacked_snapshots(
    data: CXData,
    horizon_months: int = 1,
    window_months: int = 3,
    last_as_of: str | pd.Timestamp | None = None,
    max_snapshots: int = 12,
) -> pd.DataFrame:
    """Snapshots of active customers every `horizon_months` back from `last_as_of`, stacked, with an `as_of` column.

    The earliest `as_of` leaves a full feature window after the start of observation (`observed_from`, or
    the first event in the data), so counts are never truncated. Adds `resolved_90d` = reactive - unresolved.

    Parameters
    ----------
    data
        The validated data.
    horizon_months
        Months after each `as_of` churn is counted in (also the spacing of the snapshots).
    window_months
        Months of features before each `as_of`.
    last_as_of
        The latest snapshot date; None or "" for the latest with a fully observed horizon.
    max_snapshots
        Most snapshots to stack.

    Returns
    -------
    DataFrame
        Active customers of every snapshot, with `as_of` and `resolved_90d`.
    """
    last = default_as_of(data, horizon_months) if last_as_of in (None, "") else pd.Timestamp(last_as_of)
    starts = [pd.Timestamp(data.metadata["observed_from"])] if data.metadata.get("observed_from") else []
    starts += [df["timestamp"].min() for df in (data.contacts, data.surveys) if len(df)]
    earliest = (min(starts) if starts else data.customers["signup_date"].min()) + pd.DateOffset(months=window_months)
    if last < earliest:
        raise ValueError(
            f"observation is too short: a snapshot needs {window_months} months of features before it and "
            f"{horizon_months} after it, so the first possible as_of ({earliest.date()}) is after the last "
            f"({last.date()})"
        )
    frames = []
    for k in range(max_snapshots):
        as_of = last - pd.DateOffset(months=k * horizon_months)
        if as_of < earliest:
            break
        snap = snapshot(data, as_of=as_of, window_months=window_months, horizon_months=horizon_months)
        frames.append(snap[snap["active"]].assign(as_of=as_of))
    panel = pd.concat(frames, ignore_index=True)
    panel["resolved_90d"] = panel["reactive_90d"] - panel["unresolved_90d"]
    return panel


def cross_section(data: CXData) -> pd.DataFrame:
    """One row per customer: `churned` (ever, by end of observation), tenure, segments, latest score per instrument.

    For flat data without usable dates: scores are not dated before the churn, so associations are not
    predictions.

    Parameters
    ----------
    data
        The validated data: its customers and their latest survey answers.

    Returns
    -------
    DataFrame
        One row per customer: `churned`, `tenure_months` (months), segments and `<instrument>_last`.
    """
    customers = data.customers
    out = customers.drop(columns=["signup_date", "end_date"]).copy()
    end = customers["end_date"].fillna(data.observed_until).clip(upper=data.observed_until)
    out["tenure_months"] = (end - customers["signup_date"]).dt.days / DAYS_PER_MONTH
    out["churned"] = customers["end_date"].notna() & (customers["end_date"] <= data.observed_until)
    out["active"] = True  # every customer is in the cross-section, so fit_churn_logit keeps them all
    latest = (data.surveys.sort_values("timestamp").groupby(["customer_id", "instrument"])["score"].last()
              .unstack())
    for name in ("nps", "csat", "ces"):
        out[f"{name}_last"] = out["customer_id"].map(latest[name]) if name in latest else np.nan
    return out


def scored_rows(panel: pd.DataFrame, column: str) -> pd.DataFrame | None:
    """Rows with a value in `column`, or None if they hold fewer than MIN_EVENTS churners or stayers.

    Parameters
    ----------
    panel
        Rows with `churned`.
    column
        The score column.

    Returns
    -------
    DataFrame or None
        The rows with a score, or None when too few churners or stayers.
    """
    if column not in panel:
        return None
    rows = panel[panel[column].notna()]
    events = int(rows["churned"].sum())
    return rows if min(events, len(rows) - events) >= MIN_EVENTS else None


def log_interval(fit: ChurnLogitResult, term: str) -> LogNormalInterval:
    """The Wald interval of `term`'s odds ratio in `fit` (log-odds coefficient and standard error).

    Parameters
    ----------
    fit
        A fitted churn logit.
    term
        A term of the model.

    Returns
    -------
    LogNormalInterval
        The log odds ratio and its standard error.
    """
    row = fit.coefficients.loc[term]
    return LogNormalInterval(float(row["coef"]), float(row["se"]))


def dropped_reason(fit: ChurnLogitResult, term: str, default: str) -> str:
    """Why `fit` has no coefficient for `term`: its own note naming the term (e.g. leakage), else `default`.

    Parameters
    ----------
    fit
        A fitted churn logit.
    term
        The term missing from its coefficients.
    default
        The reason when no note names the term.

    Returns
    -------
    str
        The reason, in words.
    """
    notes = [n for n in fit.notes if n.startswith(f"Dropped {term}") or f" {term}:" in n or f"{term}," in n]
    return notes[0] if notes else default


#: Name and `needs` vocabulary of each survey instrument, by the prefix of its snapshot columns.
INSTRUMENTS: dict[str, tuple[str, str]] = {
    "nps": ("NPS", "NPS scores"), "csat": ("CSAT", "CSAT scores"), "ces": ("CES", "effort scores (CES)"),
}
#: Why a claim resting on a leaking score cannot be tested, and what would test it.
LEAKING_SCORE = ("the {name} score is recorded after the churn decision (on its own it separates "
                 "churners from stayers, see leakage): it says who left, not who will")
LEAKING_NEEDS = "event dates"


def leaks(column: str, leaking: Sequence[str]) -> bool:
    """Whether `column` is leaking, or is a score of an instrument one of whose columns leaks (csat_last ->
    csat_mean_90d): a score recorded after the churn decision is so in every summary of it.

    Parameters
    ----------
    column
        A score column, e.g. "csat_last".
    leaking
        Columns recorded after the churn decision (`churn.screen_leakage`); claims resting on them say
        so.

    Returns
    -------
    bool
        Whether the column, or another summary of the same instrument, leaks.
    """
    instrument = column.split("_")[0]
    return column in leaking or (instrument in INSTRUMENTS and any(c.split("_")[0] == instrument for c in leaking))


def shortage(frame: pd.DataFrame | None, column: str, what: str) -> tuple[str, str]:
    """(reason, needs) for too few rows with `column` to test a claim: no such scores at all, or too few churners.

    Parameters
    ----------
    frame
        The rows the test would use; None when absent.
    column
        The score column.
    what
        The start of the reason, e.g. "too few NPS answers".

    Returns
    -------
    tuple of str
        The reason and the missing input (`Results.skip` vocabulary).
    """
    name, needs = INSTRUMENTS.get(column.split("_")[0], (column, "survey scores"))
    if frame is None or column not in frame or not frame[column].notna().any():
        return f"the data has no {name} scores per customer", needs
    rows = frame[frame[column].notna()]
    events = int(rows["churned"].sum())
    return ((f"{what}: only {events} churners and {len(rows) - events} stayers have a {name} score (needs "
            f"{MIN_EVENTS} of each)"), "churners" if events < MIN_EVENTS else "more customers")


def varying_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """Columns of `frame` among `columns` that vary.

    Parameters
    ----------
    frame
        A table.
    columns
        Candidate columns.

    Returns
    -------
    list of str
        Those present in `frame` with more than one value.
    """
    return [c for c in columns if c in frame and frame[c].nunique(dropna=True) > 1]


def satisfaction_person_months(
    data: CXData, until: pd.Timestamp | None = None, customer_ids: pd.Series | None = None, window_months: int = 3
) -> pd.DataFrame:
    """`timevarying.person_months` of months starting before `until`, with `csat_last` (latest CSAT answered before
    the month began, NaN if none) beside its `nps_last`.

    Parameters
    ----------
    data
        The validated data.
    until
        Keep months starting before this date; None keeps all.
    customer_ids
        Customers to build; None for all.
    window_months
        Feature window of the person-months (months).

    Returns
    -------
    DataFrame
        Person-months with `month_begins`, `nps_last` and `csat_last`.
    """
    months = person_months(data, window_months, customer_ids)
    long, starts = months.table, months.month_starts()
    long["month_begins"] = starts[long["month"].to_numpy(int)]
    if until is not None:
        long = long[long["month_begins"] < until]
    csat = data.surveys.loc[data.surveys["instrument"] == "csat", ["customer_id", "timestamp", "score"]]
    if customer_ids is not None:
        csat = csat[csat["customer_id"].isin(customer_ids)]
    order = long.sort_values("month_begins").index
    merged = pd.merge_asof(
        long.loc[order, ["customer_id", "month_begins"]].astype({"customer_id": object}).reset_index(),
        csat.rename(columns={"timestamp": "month_begins", "score": "csat_last"}).astype({"customer_id": object})
        .sort_values("month_begins").astype({"month_begins": long["month_begins"].dtype}),
        on="month_begins", by="customer_id", allow_exact_matches=False,
    ).set_index("index")
    long["csat_last"] = merged["csat_last"].astype(float)
    return long


def referral_frame(data: CXData) -> pd.DataFrame:
    """Per customer: `n_referrals`, `years` observed as a customer, latest NPS and CSAT (NaN if none).

    Parameters
    ----------
    data
        The validated data; `n_referrals` comes from its customers table.

    Returns
    -------
    DataFrame
        Per customer: `n_referrals`, `years` (years observed), `nps_last`, `csat_last`.
    """
    customers = data.customers
    end = customers["end_date"].fillna(data.observed_until).clip(upper=data.observed_until)
    latest = data.surveys.sort_values("timestamp").groupby(["customer_id", "instrument"])["score"].last().unstack()
    out = pd.DataFrame({
        "n_referrals": pd.to_numeric(customers["n_referrals"]) if "n_referrals" in customers else np.nan,
        "years": (end - customers["signup_date"]).dt.days / 365.25,
    })
    for name in ("nps", "csat"):
        if name in latest:
            out[f"{name}_last"] = customers["customer_id"].map(latest[name]).to_numpy()
        elif f"{name}_score" in customers:  # flat data: one score per customer, on the customers table
            out[f"{name}_last"] = pd.to_numeric(customers[f"{name}_score"]).to_numpy(float)
        else:
            out[f"{name}_last"] = np.nan
    return out
