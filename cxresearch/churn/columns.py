"""Which snapshot columns the churn models use by default, and their readable names and units."""

from __future__ import annotations

import pandas as pd

DEFAULT_FEATURES: tuple[str, ...] = (
    "ces_mean_90d",
    "csat_last",
    "nps_last",
    "reactive_90d",
    "unresolved_90d",
    "proactive_90d",
    "inconsistency_90d",
    "tenure_months",
)
DEFAULT_CATEGORICAL: tuple[str, ...] = ("contract", "plan")
#: CX columns only flat data has (one undated value per customer, see `features.flat_snapshot`): used by default
#: when present, beside `DEFAULT_FEATURES`.
FLAT_FEATURES: tuple[str, ...] = ("ces_last", "reactive_contacts", "unresolved_contacts", "proactive_contacts")


def default_features(snapshot: pd.DataFrame) -> tuple[str, ...]:
    """`DEFAULT_FEATURES`, plus the flat-data CX columns `snapshot` has (a flat snapshot's only effort score is
    `ces_last`; an event snapshot, which has the 90-day mean, keeps that alone).

    Parameters
    ----------
    snapshot
        One row per customer (`features.snapshot`).

    Returns
    -------
    tuple of str
        The default numeric feature columns.
    """
    flat = [c for c in FLAT_FEATURES if c in snapshot and not (c == "ces_last" and "ces_mean_90d" in snapshot)]
    return (*DEFAULT_FEATURES, *flat)

#: Readable names and the unit a one-unit change refers to, for known snapshot columns.
FEATURE_LABELS: dict[str, str] = {
    "ces_mean_90d": "CES effort, 90-day mean (per point)",
    "ces_last": "CES effort, latest (per point)",
    "csat_last": "CSAT, latest (per point)",
    "csat_mean_90d": "CSAT, 90-day mean (per point)",
    "nps_last": "NPS score, latest (per point)",
    "reactive_90d": "Reactive contacts, 90 days (per contact)",
    "unresolved_90d": "Unresolved contacts, 90 days (per contact)",
    "proactive_90d": "Proactive contacts, 90 days (per contact)",
    "inconsistency_90d": "Channel inconsistencies, 90 days (per event)",
    "fcr_rate_90d": "First-contact resolution rate, 90 days (0 to 1)",
    "tenure_months": "Tenure (per month)",
    "monthly_margin": "Monthly margin (per currency unit)",
    "n_referrals": "Referrals made (per referral)",
    "reactive_contacts": "Service contacts, the data's period (per contact)",
    "unresolved_contacts": "Unresolved service contacts, the data's period (per contact)",
    "proactive_contacts": "Proactive contacts, the data's period (per contact)",
}


#: What a score column is, in words an executive reads ("Satisfaction score (CSAT)"), where the label is terse.
PLAIN_NAMES: dict[str, str] = {
    "csat_last": "Satisfaction score (CSAT)",
    "csat_mean_90d": "Satisfaction score (CSAT, 90-day mean)",
    "nps_last": "Likelihood-to-recommend score (NPS)",
    "ces_last": "Effort score (CES)",
    "ces_mean_90d": "Effort score (CES, 90-day mean)",
}


def feature_label(column: str) -> str:
    """Readable name of a snapshot column, without its unit ("Satisfaction score (CSAT)", "Tenure").

    Parameters
    ----------
    column
        A snapshot column, e.g. `csat_last`.

    Returns
    -------
    str
        The plain name for sentences; the column itself when unknown.
    """
    return PLAIN_NAMES.get(column) or FEATURE_LABELS.get(column, column).split(" (")[0]


def short_label(column: str) -> str:
    """The model label of a column without its unit ("CSAT, latest"), the column itself when unknown: for
    table rows and axis ticks, where `feature_label` is for sentences."""
    return FEATURE_LABELS.get(column, column).split(" (")[0]
