"""Which churn a retention campaign can prevent at all: customers who moved away (or died) and involuntary exits
(non-payment, the company ending the contract) leave whatever offer they get.

The lifetime value keeps every exit (customers do leave for these reasons, so a customer's expected lifetime
includes them); the campaign economics count only preventable churn: the at-risk pool a campaign targets is each
customer's churn risk times the preventable share of exits, and an assumed save rate applies to that part (see
`RetentionCampaign.preventable_share`). The share is the data's overall one: which customer will move is not
predicted, so every customer's risk is scaled alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Canonical `end_reason`s no retention offer prevents (`data.schema.END_REASONS`).
NOT_PREVENTABLE: tuple[str, ...] = ("moved", "involuntary")
#: How the excluded reasons are named in sentences.
_WORDS = {"moved": "moves", "involuntary": "involuntary exits (non-payment)"}


@dataclass
class PreventableChurn:
    """Exits (customers), those no retention offer prevents by reason, and the preventable share (0-1) that the
    campaign economics use (1 when not `applied`)."""

    exits: int
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> exits
    applied: bool = False
    why_not: str = ""  # why all churn counts as preventable, when not applied

    @property
    def n_excluded(self) -> int:
        """Exits no retention offer prevents (customers)."""
        return sum(self.excluded.values())

    @property
    def share(self) -> float:
        """Share of exits (0-1) a retention offer could prevent: 1 when not applied or without exits."""
        return 1.0 - self.n_excluded / self.exits if self.applied and self.exits else 1.0

    def sentence(self) -> str:
        """'312 of 1,869 exits (17%) were moves or non-payment: ...', or why nothing was excluded."""
        if not self.applied:
            return f"All churn counts as preventable in the campaign economics: {self.why_not}."
        what = " or ".join(_WORDS[r] for r in NOT_PREVENTABLE if self.excluded.get(r))
        if not self.n_excluded:
            return (f"None of the {self.exits:,} exits were moves or non-payment: all churn counts as preventable in "
                    "the campaign economics.")
        return (f"{self.n_excluded:,} of {self.exits:,} exits ({self.n_excluded / self.exits:.0%}) were {what}: no "
                "retention offer prevents them, so the campaign economics leave them out (the lifetime value keeps "
                "them: customers do leave that way).")

    def summary(self) -> pd.DataFrame:
        """Exits by excluded reason and in total (customers)."""
        rows = [*self.excluded.items(), ("all exits", self.exits)]
        return pd.DataFrame(rows, columns=["reason", "exits"]).set_index("reason")


def preventable_churn(
    lifetimes: pd.DataFrame, reasons: pd.DataFrame | None, enabled: bool = True, event: str = "event",
    reason: str = "end_reason",
) -> PreventableChurn:
    """Count the exits that no retention offer prevents (`NOT_PREVENTABLE`), by reason.

    Parameters
    ----------
    lifetimes
        One row per customer with `customer_id` and the churn flag `event` (`features.lifetimes`).
    reasons
        `customer_id` and `reason` per customer (the data's customers table), or None.
    enabled
        False counts all churn as preventable (the notebook's `preventable_only`).
    event, reason
        Columns of the churn flag and the canonical exit reason.

    Returns
    -------
    PreventableChurn
        Exits, the excluded ones by reason, and the preventable share; exits without a recorded reason count as
        preventable.
    """
    churned = lifetimes.loc[lifetimes[event].astype(bool), ["customer_id"]]
    exits = len(churned)
    if not enabled:
        return PreventableChurn(exits, why_not="preventable_only is off")
    if reasons is None or reason not in reasons or reasons[reason].isna().all():
        return PreventableChurn(exits, why_not="the data records no reason why customers left (no end_reason)")
    given = churned.merge(reasons[["customer_id", reason]], on="customer_id", how="left")[reason]
    counts = given.value_counts()
    return PreventableChurn(exits, {r: int(counts.get(r, 0)) for r in NOT_PREVENTABLE}, applied=True)
