"""Which survey answers a loyalty report summarises: the lookback window before a cutoff, or one undated score per
customer on flat data; and whether answers link to the contacts that triggered them."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class SurveyWindow:
    """The survey answers a loyalty report summarises: `surveys` (all answers, for trends), `recent` (those in
    the lookback before the cutoff) and `period`, the words saying which answers these are."""

    surveys: pd.DataFrame
    recent: pd.DataFrame
    period: str
    dated: bool


def flat_responses(snapshot: pd.DataFrame) -> pd.DataFrame:
    """Survey-like rows (customer_id, timestamp, instrument, score) from a flat snapshot's one score per customer
    (`nps_last`, `csat_last`, `ces_last`), dated at the snapshot's `as_of` (when it was given is not recorded).

    Parameters
    ----------
    snapshot
        A flat snapshot with `customer_id` and `nps_last` / `csat_last` / `ces_last`.

    Returns
    -------
    DataFrame
        Columns customer_id, timestamp (the snapshot date), instrument, score; one row per score
        present.
    """
    when = pd.Timestamp(snapshot.attrs.get("as_of")) if snapshot.attrs.get("as_of") else pd.NaT
    frames = [
        pd.DataFrame({"customer_id": snapshot["customer_id"].astype(object), "timestamp": when,
                      "instrument": name, "score": snapshot[f"{name}_last"]}).dropna(subset=["score"])
        for name in ("nps", "csat", "ces") if f"{name}_last" in snapshot
    ]
    columns = ["customer_id", "timestamp", "instrument", "score"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def survey_window(
    surveys: pd.DataFrame, snapshot: pd.DataFrame | None, cutoff: pd.Timestamp, lookback_months: int, dated: bool
) -> SurveyWindow:
    """The answers of the `lookback_months` before `cutoff` (dated data), or on flat data (`dated` False) each
    customer's one score from the flat `snapshot`, whose date is unknown.

    Parameters
    ----------
    surveys
        All survey answers.
    snapshot
        The snapshot at the cutoff (used on flat data); None when there is none.
    cutoff
        The date the lookback ends at (exclusive).
    lookback_months
        Months of answers before the cutoff.
    dated
        Whether the data has event dates.

    Returns
    -------
    SurveyWindow
        All answers, those summarised, and the words naming the period.
    """
    if not dated and snapshot is not None:
        rows = flat_responses(snapshot)
        return SurveyWindow(rows, rows, "one score per customer, its date not recorded (flat data)", False)
    since = cutoff - pd.DateOffset(months=lookback_months)
    recent = surveys[(surveys["timestamp"] < cutoff) & (surveys["timestamp"] >= since)]
    return SurveyWindow(surveys, recent, f"in the {lookback_months} months before {cutoff.date()}", True)


def surveys_linked(surveys: pd.DataFrame, contacts: pd.DataFrame) -> bool:
    """Whether survey responses can be tied to the service contact that triggered them: `contact_id` on both,
    and at least one survey's `contact_id` found among the contacts (a contacts table may be empty).

    Parameters
    ----------
    surveys
        Survey answers.
    contacts
        Contact records.

    Returns
    -------
    bool
        True when at least one answer names a recorded contact.
    """
    if "contact_id" not in surveys or "contact_id" not in contacts:
        return False
    return bool(surveys["contact_id"].dropna().isin(contacts["contact_id"].dropna()).any())
