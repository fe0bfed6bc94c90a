"""Which columns of a one-row-per-customer frame hold a lifetime (months from signup), named once per analysis."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class LifetimeColumns:
    """Column names of a customer lifetime, as `features.lifetimes` writes them by default.

    Attributes
    ----------
    duration : months from signup to churn or to the end of follow-up.
    event : whether the lifetime ended in an observed churn (otherwise right-censored).
    entry : months from signup to the start of observation (left truncation, delayed entry); None = every
        customer is observed from signup.
    cause : the reason of an observed end (`end_reason`; missing = censored), for competing risks.
    """

    duration: str = "duration_months"
    event: str = "event"
    entry: str | None = None
    cause: str = "end_reason"

    def with_entry(self, entry: str | None = "entry_months") -> LifetimeColumns:
        """The same columns with risk sets from `entry` (None: observed from signup)."""
        return replace(self, entry=entry)


#: The default lifetime columns, observed from signup.
LIFETIMES = LifetimeColumns()
#: `features.lifetimes`' columns with risk sets from entry (left truncation: customers who joined before
#: observation began count from when they entered it).
FROM_ENTRY = LifetimeColumns(entry="entry_months")
