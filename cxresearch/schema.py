"""The canonical data model: three tables every data source is turned into (see DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

TABLES: tuple[str, ...] = ("customers", "contacts", "surveys")

#: Required columns per table, with their logical type.
REQUIRED_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {
        "customer_id": "str",
        "signup_date": "datetime",
        "end_date": "datetime",  # null while the customer is active
        "monthly_margin": "float",  # currency per month
    },
    "contacts": {
        "customer_id": "str",
        "timestamp": "datetime",
        "channel": "str",
        "direction": "str",  # reactive | proactive
    },
    "surveys": {
        "customer_id": "str",
        "timestamp": "datetime",
        "instrument": "str",  # nps | csat | ces
        "score": "int",
    },
}

#: Optional columns the analyses use when present.
OPTIONAL_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {
        "plan": "str",
        "contract": "str",
        "acquisition_channel": "str",
        "region": "str",
        "acquisition_cost": "float",  # currency per acquired customer
        "n_referrals": "int",  # customers this customer referred
    },
    "contacts": {
        "contact_id": "str",
        "reason": "str",  # e.g. billing, technical, channel_inconsistency, follow_up
        "resolved_first_contact": "bool",  # reactive contacts only
        "handle_minutes": "float",
    },
    "surveys": {
        "contact_id": "str",  # the contact that triggered a transactional survey
    },
}

DIRECTIONS: tuple[str, ...] = ("reactive", "proactive")

#: Inclusive score range per survey instrument. CES: 1 = very low effort, 7 = very high effort.
SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

#: Contact reason that marks a cross-channel inconsistency (price or information differing between channels).
INCONSISTENCY_REASON = "channel_inconsistency"

#: Segment columns shown in reports when present.
SEGMENT_COLUMNS: tuple[str, ...] = ("plan", "contract", "acquisition_channel", "region")


@dataclass
class CXData:
    """A validated canonical dataset: customers, contacts and surveys, observed up to `observed_until`."""

    customers: pd.DataFrame
    contacts: pd.DataFrame
    surveys: pd.DataFrame
    observed_until: pd.Timestamp
    name: str = "data"
    fingerprint: str = ""
    metadata: dict = field(default_factory=dict)

    def describe(self) -> pd.DataFrame:
        """Row counts and date span per table."""
        rows = []
        for table, col in (("customers", "signup_date"), ("contacts", "timestamp"), ("surveys", "timestamp")):
            df = getattr(self, table)
            rows.append(
                {
                    "table": table,
                    "rows": len(df),
                    "first": df[col].min() if len(df) else pd.NaT,
                    "last": df[col].max() if len(df) else pd.NaT,
                }
            )
        return pd.DataFrame(rows).set_index("table")
