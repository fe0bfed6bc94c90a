"""The canonical data model: three tables every data source is turned into (see DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: The dtype of every text column (ids, labels) in a validated `CXData`: pandas' Arrow-backed string with NaN
#: for missing values, the default `str` dtype of pandas 3. It stores 15 M event ids in a fraction of the
#: memory of Python `str` objects and runs `isin`/`==`/`.str` in Arrow's C++ kernels.
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)

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
        "end_reason": "str",  # why the customer left: one of END_REASONS, null while active
        "end_reason_detail": "str",  # the company's own label for the reason, kept as given
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

#: Customer-level CX columns of flat data (one row per customer, no event timestamps). Scores are the one
#: score known per customer (timing unknown); counts cover the period in `metadata["contacts_period"]`, which
#: is not a 90-day window, hence names distinct from the snapshot's `*_90d` columns.
FLAT_COLUMNS: dict[str, str] = {
    "nps_score": "int",
    "csat_score": "int",
    "ces_score": "int",
    "reactive_contacts": "int",
    "proactive_contacts": "int",
    "unresolved_contacts": "int",
}

#: Purchases, for non-contractual customers (e.g. CDNOW): an optional fourth table.
TRANSACTION_COLUMNS: dict[str, str] = {
    "customer_id": "str",
    "timestamp": "datetime",
    "amount": "float",  # currency per purchase
    "quantity": "int",
}

#: Campaign assignments of randomised experiments: an optional fifth table (see `treatment_columns`).
TREATMENT_COLUMNS: dict[str, str] = {
    "customer_id": "str",
    "campaign": "str",
    "assigned_at": "datetime",
    "arm": "str",  # "control" (the holdout) and "treatment", or named arms such as "mens_email"
}

#: Optional treatment columns besides the prefixed ones: the cost of treating this customer (currency).
TREATMENT_OPTIONAL_COLUMNS: dict[str, str] = {"cost": "float"}

#: The arm every other arm of a campaign is compared with.
CONTROL_ARM = "control"

#: Treatment columns named `outcome_<name>` hold an outcome measured after assignment (numeric: 0/1 or an
#: amount), for experiments whose outcome is not churn (e.g. `outcome_visit`, `outcome_spend`).
OUTCOME_PREFIX = "outcome_"

#: Treatment columns named `covariate_<name>` hold a trait measured before assignment (number or label), used
#: for the balance check and the uplift models besides the customers table's own columns.
COVARIATE_PREFIX = "covariate_"

#: Shapes of data: event-level (timestamped contacts and surveys) or flat (one row per customer).
SHAPES: tuple[str, ...] = ("events", "flat")

DIRECTIONS: tuple[str, ...] = ("reactive", "proactive")

#: Inclusive score range per survey instrument. CES: 1 = very low effort, 7 = very high effort.
SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

#: Contact reason that marks a cross-channel inconsistency (price or information differing between channels).
INCONSISTENCY_REASON = "channel_inconsistency"

#: Canonical reasons a customer left (`customers.end_reason`): competing risks of churn. `service` covers the
#: service experience (support, network, product dissatisfaction), `moved` exits the company cannot influence
#: (moving away, death), `involuntary` non-payment or the company ending the contract.
END_REASONS: tuple[str, ...] = ("price", "competitor", "service", "moved", "involuntary", "other")

#: Segment columns shown in reports when present.
SEGMENT_COLUMNS: tuple[str, ...] = ("plan", "contract", "acquisition_channel", "region")

#: What a dataset can support, as reported by `CXData.capabilities` (see its docstring).
CAPABILITIES: tuple[str, ...] = (
    "timestamps", "churn", "left_truncation", "acquisition_cost", "referrals", "contacts", "reactive",
    "proactive", "contact_resolution", "inconsistency", "nps", "csat", "ces", "transactions", "end_reasons",
    "treatments",
)


def treatment_columns(columns: list[str] | None = None) -> dict[str, str]:
    """The treatments table's columns with their logical types: required, `cost`, and those of `columns`
    named `outcome_*` (float) or `covariate_*` ("any": numbers or labels, kept as given)."""
    prefixed = {c: "float" if c.startswith(OUTCOME_PREFIX) else "any" for c in columns or []
                if any(c.startswith(p) and len(c) > len(p) for p in (OUTCOME_PREFIX, COVARIATE_PREFIX))}
    return {**TREATMENT_COLUMNS, **TREATMENT_OPTIONAL_COLUMNS, **prefixed}


def column_types(table: str) -> dict[str, str]:
    """Every canonical column of `table` with its logical type (flat customer columns included)."""
    extra = FLAT_COLUMNS if table == "customers" else {}
    return {**REQUIRED_COLUMNS[table], **OPTIONAL_COLUMNS[table], **extra}


@dataclass
class CXData:
    """A validated canonical dataset: customers, contacts and surveys (optionally purchases and campaign
    assignments), observed up to `observed_until`."""

    customers: pd.DataFrame
    contacts: pd.DataFrame
    surveys: pd.DataFrame
    observed_until: pd.Timestamp
    name: str = "data"
    fingerprint: str = ""
    metadata: dict = field(default_factory=dict)
    shape: str = "events"
    transactions: pd.DataFrame | None = None
    treatments: pd.DataFrame | None = None

    @property
    def has_timestamps(self) -> bool:
        """Whether contacts, surveys and lifetimes carry real dates (False for flat data)."""
        return self.shape == "events"

    @property
    def currency(self) -> str:
        """The currency amounts are in (`dataset.json`'s or the mapping's `currency`), else "currency units"."""
        return str(self.metadata.get("currency") or "currency units")

    @property
    def segments(self) -> list[str]:
        """Segment columns present with at least one value."""
        return [c for c in SEGMENT_COLUMNS if c in self.customers and self.customers[c].notna().any()]

    @property
    def capabilities(self) -> frozenset[str]:
        """What the data can support (names in `CAPABILITIES`); analyses skip what is missing.

        timestamps: event-level dates (not flat); churn: at least one observed end; left_truncation:
        `observed_from` known; contacts/reactive/proactive/contact_resolution/inconsistency: recorded
        contacts (timestamped, or flat counts); nps/csat/ces: at least one score; transactions: purchases;
        end_reasons: at least one `end_reason`; treatments: at least one campaign assignment.
        """
        c, caps = self.customers, set()
        if self.has_timestamps:
            caps.add("timestamps")
        if c["end_date"].notna().any():
            caps.add("churn")
        if self.metadata.get("observed_from"):
            caps.add("left_truncation")
        for name, column in (("acquisition_cost", "acquisition_cost"), ("referrals", "n_referrals")):
            if column in c and c[column].notna().any():
                caps.add(name)
        contacts = self.contacts
        directions = set(contacts["direction"].dropna().unique()) if len(contacts) else set()
        flat = {col: col in c and c[col].notna().any() for col in FLAT_COLUMNS}
        caps |= {d for d in DIRECTIONS if d in directions or flat[f"{d}_contacts"]}
        if "resolved_first_contact" in contacts and contacts["resolved_first_contact"].notna().any():
            caps.add("contact_resolution")
        if flat["unresolved_contacts"]:
            caps.add("contact_resolution")
        if "reason" in contacts and (contacts["reason"] == INCONSISTENCY_REASON).any():
            caps.add("inconsistency")
        if caps & {"reactive", "proactive"}:
            caps.add("contacts")
        instruments = set(self.surveys["instrument"].dropna().unique()) if len(self.surveys) else set()
        caps |= {i for i in SCORE_RANGES if i in instruments or flat[f"{i}_score"]}
        if self.transactions is not None and len(self.transactions):
            caps.add("transactions")
        if "end_reason" in c and c["end_reason"].notna().any():
            caps.add("end_reasons")
        if self.treatments is not None and len(self.treatments):
            caps.add("treatments")
        return frozenset(caps)

    def has(self, *capabilities: str) -> bool:
        """Whether the data supports every one of `capabilities` (names in `CAPABILITIES`)."""
        unknown = set(capabilities) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)}; known: {', '.join(CAPABILITIES)}")
        return set(capabilities) <= self.capabilities

    def describe(self) -> pd.DataFrame:
        """Row counts and date span per table (no dates for flat data)."""
        rows = []
        for table, col in (("customers", "signup_date"), ("contacts", "timestamp"), ("surveys", "timestamp")):
            df = getattr(self, table)
            # Flat data's sign-up dates are derived from tenure: no dates to report.
            dated = len(df) and self.has_timestamps
            rows.append(
                {
                    "table": table,
                    "rows": len(df),
                    "first": df[col].min() if dated else pd.NaT,
                    "last": df[col].max() if dated else pd.NaT,
                }
            )
        for table, col in (("transactions", "timestamp"), ("treatments", "assigned_at")):
            t = getattr(self, table)
            if t is not None:
                rows.append({"table": table, "rows": len(t), "first": t[col].min() if len(t) else pd.NaT,
                             "last": t[col].max() if len(t) else pd.NaT})
        return pd.DataFrame(rows).set_index("table")
